#if canImport(Glibc)
import Glibc
#endif

/// The one file-update recipe of the file store: an OFD fcntl lock on a lock file with a bounded
/// wait, held in a section the caller's user cannot stop; then a temp file beside the target
/// (O_CREAT|O_EXCL|O_NOFOLLOW, 0600, root's), fsync, optional backup of the old version, rename,
/// fsync of the folder. Readers never lock: they open the target and see one whole version.
enum AtomicFile {
    /// Runs `body` holding an exclusive OFD lock on `lockPath` (created 0600 if missing),
    /// waiting up to `timeoutMilliseconds`; `.busy(target)` after that.
    static func withLock<T>(_ lockPath: String, target: String, timeoutMilliseconds: Int, _ body: () throws(PwdirError) -> T) throws(PwdirError) -> T {
        let fd: Int32
        do {
            fd = try Sys.open(lockPath, O_RDWR | O_CREAT, 0o600)
        } catch {
            if error.code == ENOENT { throw .folderMissing(FilePathText.folder(of: lockPath)) }
            throw .system(error)
        }
        defer { Sys.close(fd) }  // closing the description releases the lock
        do {
            var st = try Sys.fstat(fd, lockPath)
            if st.st_size == 0 && (st.st_uid != 0 || st.st_gid != 0) && Sys.effectiveUID == 0 {
                try Sys.ownByRoot(fd, lockPath)  // just made inside a setuid program
                st.st_uid = 0
            }
            try FileSafety.check(st, path: lockPath)
        } catch { throw PwdirError(error) }
        return try Sys.unstoppable { () throws(PwdirError) -> T in
            let locked: Bool
            do throws(SystemError) { locked = try Sys.lock(fd, lockPath, timeoutMilliseconds: timeoutMilliseconds) } catch { throw .system(error) }
            guard locked else { throw .busy(path: target) }
            return try body()
        }
    }

    /// Replaces `path` with `bytes`. With `original` (the stat of the version read under the
    /// lock), refuses if the file was replaced meanwhile by something ignoring the lock; with
    /// `backup`, keeps the old version there (a hard link). The temp file `path+` is removed
    /// on every failure; a stale one (a writer killed mid-way) is removed first. A failure of the
    /// last step (the folder's fsync, after the rename) is `.mayHaveBeenApplied`.
    static func replace(_ path: String, with bytes: [UInt8], original: stat?, backup: String?) throws(PwdirError) {
        let temp = path + "+"
        do {
            try Sys.unlinkIfExists(temp)
            let fd = try Sys.open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            var renamed = false
            defer {
                Sys.close(fd)
                if !renamed { try? Sys.unlinkIfExists(temp) }
            }
            try Sys.fchmod(fd, temp, 0o600)  // whatever the caller's umask
            // The new version keeps the old one's owner; a new file is root's (inside a setuid
            // program the caller's group would otherwise creep in).
            if let original { try Sys.own(fd, temp, uid: original.st_uid, gid: original.st_gid) } else { try Sys.ownByRoot(fd, temp) }
            try Sys.writeAll(fd, temp, bytes)
            try Sys.fsync(fd, temp)
            if let original {
                guard let now = try Sys.lstatIfExists(path), now.st_ino == original.st_ino, now.st_dev == original.st_dev,
                      now.st_size == original.st_size, now.st_mtim.tv_sec == original.st_mtim.tv_sec,
                      now.st_mtim.tv_nsec == original.st_mtim.tv_nsec else {
                    throw PwdirError.changedMeanwhile(path)
                }
                if let backup {
                    try Sys.unlinkIfExists(backup)
                    try Sys.link(path, backup)
                }
            }
            try Sys.rename(temp, path)
            renamed = true
            do { try Sys.fsyncFolder(of: path) } catch { throw PwdirError.mayHaveBeenApplied(path: path, error) }
        } catch {
            throw PwdirError(error)
        }
    }
}

/// The checks every file pwdir reads or writes passes, as pam-u2f checks its files: a regular
/// file (a FIFO, a device or a folder is refused before anything is read from it), owned by
/// root or by the user pwdir runs as, writable by nobody else.
enum FileSafety {
    static func check(_ st: stat, path: String) throws(PwdirError) {
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .unsafeFile(path: path, reason: "it is not a regular file") }
        if (st.st_mode & 0o022) != 0 { throw .unsafeFile(path: path, reason: "group or others may write it; run chmod 600 on it") }
        if st.st_uid != 0 && st.st_uid != Sys.effectiveUID { throw .unsafeFile(path: path, reason: "it is owned by uid \(st.st_uid), neither root nor us") }
    }

    /// Opens `path` read-only (or, with `folderFD`, the entry `name` of that open folder, `path`
    /// naming it in errors) and checks it; returns the descriptor and the stat that was checked,
    /// or nil when it does not exist.
    static func openChecked(_ path: String, name: String? = nil, in folderFD: Int32? = nil) throws(PwdirError) -> (fd: Int32, stat: stat)? {
        let fd: Int32
        do {
            let found = if let folderFD, let name { try Sys.openAtIfExists(folderFD, name, path: path) } else { try Sys.openIfExists(path) }
            guard let opened = found else { return nil }
            fd = opened
        } catch {
            if error.code == ELOOP { throw .unsafeFile(path: path, reason: "it is a symbolic link") }
            throw .system(error)
        }
        do {
            let st = try Sys.fstat(fd, path)
            try check(st, path: path)
            return (fd, st)
        } catch {
            Sys.close(fd)
            throw PwdirError(error)
        }
    }

    /// Makes the folder `path` (`mode`, whatever the umask; root's) unless it exists; the caller
    /// checks it. A missing parent is `.directoryMissing` naming it.
    static func makeFolder(_ path: String, mode: mode_t = 0o700) throws(PwdirError) {
        do {
            if try Sys.mkdir(path, mode) {
                let fd = try Sys.open(path, O_RDONLY | O_DIRECTORY)
                defer { Sys.close(fd) }
                try Sys.ownByRoot(fd, path)
                try Sys.fchmod(fd, path, mode)
            }
        } catch {
            if error.code == ENOENT { throw .directoryMissing(FilePathText.folder(of: path)) }
            throw .system(error)
        }
    }

    /// Makes the folder `path` (`mode`) unless it exists, then checks it is a folder, root's (or
    /// ours), with none of the mode bits `others` (refused with `advice`).
    static func ensureFolder(_ path: String, mode: mode_t = 0o700, others: mode_t, advice: String) throws(PwdirError) {
        try makeFolder(path, mode: mode)
        let st: stat?
        do { st = try Sys.lstatIfExists(path) } catch { throw .system(error) }
        guard let st, (st.st_mode & S_IFMT) == S_IFDIR else { throw .unsafeFile(path: path, reason: "it is not a folder") }
        if (st.st_mode & others) != 0 || (st.st_uid != 0 && st.st_uid != Sys.effectiveUID) {
            throw .unsafeFile(path: path, reason: advice)
        }
    }

    /// Every folder from `folder` (a real path) up to `/`: root's, and writable by nobody else
    /// (a sticky folder such as /tmp excepted), so that nobody but root can swap a name on the
    /// way to what root runs or writes there; `path` is named in errors.
    static func checkFoldersOnPath(from folder: String, naming path: String) throws(PwdirError) {
        var folder = folder
        while true {
            let st: stat?
            do { st = try Sys.lstatIfExists(folder) } catch { throw .system(error) }
            guard let st, (st.st_mode & S_IFMT) == S_IFDIR else { throw .unsafeFile(path: folder, reason: "it is not a folder") }
            if st.st_uid != 0 { throw .unsafeFile(path: path, reason: "the folder \(folder) on its path is not root's") }
            if st.st_mode & 0o022 != 0 && st.st_mode & S_ISVTX == 0 {
                throw .unsafeFile(path: path, reason: "others may write the folder \(folder) on its path")
            }
            if folder == "/" { return }
            folder = FilePathText.folder(of: folder)
        }
    }

    /// The whole of a checked file; nil when it does not exist.
    static func read(_ path: String) throws(PwdirError) -> [UInt8]? {
        guard let (fd, st) = try openChecked(path) else { return nil }
        defer { Sys.close(fd) }
        do { return try Sys.readAll(fd, path, sizeHint: Int(st.st_size)) } catch { throw .system(error) }
    }
}
