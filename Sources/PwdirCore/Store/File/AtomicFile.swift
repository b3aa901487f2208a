#if canImport(Glibc)
import Glibc
#endif
import CPwdirSys

/// The one file-update recipe, shared by the directory and the failure tallies: an OFD fcntl
/// lock on a lock file with a bounded wait, then a temp file beside the target
/// (O_CREAT|O_EXCL|O_NOFOLLOW, 0600), fsync, optional backup of the old version, rename,
/// fsync of the folder. Readers never lock: they open the target and see one whole version.
enum AtomicFile {
    /// Runs `body` holding an exclusive OFD lock on `lockPath` (created 0600 if missing),
    /// waiting up to `timeoutMilliseconds`; `.busy(target)` after that.
    static func withLock<T>(_ lockPath: String, target: String, timeoutMilliseconds: Int, _ body: () throws(PwdirError) -> T) throws(PwdirError) -> T {
        let fd: Int32
        do {
            fd = try Sys.open(lockPath, O_RDWR | O_CREAT, 0o600)
        } catch {
            if error.code == ENOENT {
                let folder = Paths.folder(of: lockPath)
                throw .invalidValue(field: "folder", reason: "\(folder) does not exist; create it first (install -d -m 0700 \(folder))")
            }
            throw .system(error)
        }
        defer { Sys.close(fd) }  // closing the description releases the lock
        do { try checkSafe(try Sys.fstat(fd, lockPath), path: lockPath) } catch { throw PwdirError(error) }
        let deadline = Sys.monotonicNanoseconds() + UInt64(timeoutMilliseconds) * 1_000_000
        var pause = 1
        while cpwdir_ofd_lock(fd, 1, 0) != 0 {
            let e = errno
            if e == EINTR { continue }
            guard e == EAGAIN || e == EACCES else { throw .system(SystemError("fcntl(F_OFD_SETLK)", lockPath, e)) }
            if Sys.monotonicNanoseconds() >= deadline { throw .busy(path: target) }
            Sys.sleep(milliseconds: pause)
            pause = min(pause * 2, 20)
        }
        return try body()
    }

    /// Replaces `path` with `bytes`. With `original` (the stat of the version read under the
    /// lock), refuses if the file was replaced meanwhile by something ignoring the lock; with
    /// `backup`, keeps the old version there (a hard link). The temp file `path+` is removed
    /// on every failure; a stale one (a writer killed mid-way) is removed first.
    static func replace(_ path: String, with bytes: [UInt8], original: stat?, backup: String?) throws(PwdirError) {
        let temp = path + "+"
        do {
            try Sys.unlinkIfExists(temp)
            let fd = try Sys.open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            var renamed = false
            defer {
                Sys.close(fd)
                if !renamed { _ = unlink(temp) }
            }
            _ = fchmod(fd, 0o600)  // whatever the caller's umask
            if let original, geteuid() == 0 { _ = fchown(fd, original.st_uid, original.st_gid) }
            try Sys.writeAll(fd, temp, bytes)
            try Sys.fsync(fd, temp)
            if let original {
                guard let now = try Sys.lstatIfExists(path), now.st_ino == original.st_ino, now.st_dev == original.st_dev,
                      now.st_size == original.st_size, now.st_mtim.tv_sec == original.st_mtim.tv_sec,
                      now.st_mtim.tv_nsec == original.st_mtim.tv_nsec else {
                    throw PwdirError.busy(path: path)
                }
                if let backup {
                    try Sys.unlinkIfExists(backup)
                    try Sys.link(path, backup)
                }
            }
            try Sys.rename(temp, path)
            renamed = true
            try Sys.fsyncFolder(of: path)
        } catch {
            throw PwdirError(error)
        }
    }

    /// Opens `path` read-only after checking it is a regular file owned by root (or by us)
    /// that nobody else can write, as pam-u2f checks its files. nil when it does not exist.
    static func openChecked(_ path: String) throws(PwdirError) -> Int32? {
        let fd: Int32
        do { fd = try Sys.open(path, O_RDONLY) } catch {
            if error.code == ENOENT { return nil }
            if error.code == ELOOP { throw .unsafeFile(path: path, reason: "it is a symbolic link") }
            throw .system(error)
        }
        do {
            try checkSafe(try Sys.fstat(fd, path), path: path)
        } catch {
            Sys.close(fd)
            throw PwdirError(error)
        }
        return fd
    }

    static func checkSafe(_ st: stat, path: String) throws(PwdirError) {
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .unsafeFile(path: path, reason: "not a regular file") }
        if (st.st_mode & 0o022) != 0 { throw .unsafeFile(path: path, reason: "group or others may write it; run chmod 600 on it") }
        if st.st_uid != 0 && st.st_uid != geteuid() { throw .unsafeFile(path: path, reason: "owned by uid \(st.st_uid), neither root nor us") }
    }
}
