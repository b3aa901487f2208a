#if canImport(Glibc)
import Glibc
#endif
import CPwdirCrypt

/// The user directory on disk: one file (`users`), a lock file beside it (`users.lock`), the
/// previous version (`users-`, as shadow keeps `shadow-`) and, while a writer runs, its temp
/// file (`users+`).
///
/// Readers never lock: writers replace the file with rename(2), so a reader's open descriptor
/// always sees one whole version. Every writer, module and command alike, goes through
/// `update`: lock, re-read, change, write the temp file, fsync, rename, fsync the folder.
public struct DirectoryFile: Sendable {
    public let path: String
    /// How long `update` waits for the lock before reporting `.busy`.
    public var lockTimeoutMilliseconds = 15_000

    public init(path: String) {
        self.path = path
    }

    public var lockPath: String { path + ".lock" }
    public var tempPath: String { path + "+" }
    public var backupPath: String { path + "-" }

    // MARK: Reading

    /// Reads and strictly parses every line (the command's view).
    public func load() throws(PwdirError) -> [UserRecord] {
        try loadWithStat().records
    }

    /// Finds one user without reading the whole file (the module's view): the file is mapped
    /// and searched by login; header, trailer and every line probed are checked.
    public func lookup(_ login: String) throws(PwdirError) -> UserRecord? {
        let fd = try openForReading()
        defer { Sys.close(fd) }
        let size: Int
        do { size = Int(try Sys.fstat(fd, path).st_size) } catch { throw .system(error) }
        guard size > 0 else { return try DirectoryCodec.lookup(login, in: UnsafeRawBufferPointer(start: nil, count: 0), path: path) }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw .system(SystemError("mmap", path))
        }
        defer { munmap(map, size) }
        return try DirectoryCodec.lookup(login, in: UnsafeRawBufferPointer(start: map, count: size), path: path)
    }

    public var exists: Bool { ((try? Sys.lstatIfExists(path)) ?? nil) != nil }

    private func loadWithStat() throws(PwdirError) -> (records: [UserRecord], stat: stat) {
        let fd = try openForReading()
        defer { Sys.close(fd) }
        let st: stat
        let bytes: [UInt8]
        do {
            st = try Sys.fstat(fd, path)
            bytes = try Sys.readAll(fd, path, sizeHint: Int(st.st_size))
        } catch { throw .system(error) }
        return (try DirectoryCodec.decode(bytes, path: path), st)
    }

    /// Opens the directory read-only after checking it is a regular file owned by root (or by
    /// us) that nobody else can write, as pam-u2f checks its files.
    private func openForReading() throws(PwdirError) -> Int32 {
        let fd: Int32
        do { fd = try Sys.open(path, O_RDONLY) } catch {
            if error.code == ENOENT { throw .directoryMissing(path) }
            if error.code == ELOOP { throw .unsafeFile(path: path, reason: "it is a symbolic link") }
            throw .system(error)
        }
        do {
            try Self.checkSafe(try Sys.fstat(fd, path), path: path)
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

    // MARK: Writing

    /// Creates an empty directory (mode 0600). Fails if one exists.
    public func create() throws(PwdirError) {
        try withLock { () throws(PwdirError) in
            do {
                if try Sys.lstatIfExists(path) != nil { throw PwdirError.directoryExists(path) }
            } catch { throw PwdirError(error) }
            try replace(with: [], original: nil)
        }
    }

    /// The one update recipe. Under the lock, re-reads and strictly parses the directory, lets
    /// `change` edit the records, and, if anything changed, writes the new version beside the
    /// old one and renames it into place. On any error nothing on disk changes.
    @discardableResult
    public func update<T>(_ change: (inout [UserRecord]) throws(PwdirError) -> T) throws(PwdirError) -> T {
        try withLock { () throws(PwdirError) -> T in
            let (records, st) = try loadWithStat()
            var edited = records
            let result = try change(&edited)
            if edited != records { try replace(with: edited, original: st) }
            return result
        }
    }

    /// Takes the writers' lock (an OFD fcntl lock on `users.lock`), waiting up to
    /// `lockTimeoutMilliseconds`, then runs `body`.
    func withLock<T>(_ body: () throws(PwdirError) -> T) throws(PwdirError) -> T {
        let fd: Int32
        do {
            fd = try Sys.open(lockPath, O_RDWR | O_CREAT, 0o600)
        } catch {
            if error.code == ENOENT { throw .directoryMissing(path) }
            throw .system(error)
        }
        defer { Sys.close(fd) }  // closing the description releases the lock
        do { try Self.checkSafe(try Sys.fstat(fd, lockPath), path: lockPath) } catch { throw PwdirError(error) }
        let deadline = Sys.monotonicNanoseconds() + UInt64(lockTimeoutMilliseconds) * 1_000_000
        var pause = 2
        while cpwdir_ofd_lock(fd, 1, 0) != 0 {
            let e = errno
            if e == EINTR { continue }
            guard e == EAGAIN || e == EACCES else { throw .system(SystemError("fcntl(F_OFD_SETLK)", lockPath, e)) }
            if Sys.monotonicNanoseconds() >= deadline { throw .busy(path: path) }
            Sys.sleep(milliseconds: pause)
            pause = min(pause * 2, 50)
        }
        return try body()
    }

    /// Writes `records` to `users+` (O_CREAT|O_EXCL|O_NOFOLLOW, 0600), fsyncs it, checks the
    /// directory was not replaced behind our back, keeps the old version as `users-`, renames
    /// the new one into place and fsyncs the folder. The temp file is removed on every failure.
    private func replace(with records: [UserRecord], original: stat?) throws(PwdirError) {
        let bytes = DirectoryCodec.encode(records)
        do {
            try Sys.unlinkIfExists(tempPath)  // left by a writer killed mid-way; we hold the lock
            let fd = try Sys.open(tempPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            var renamed = false
            defer {
                Sys.close(fd)
                if !renamed { _ = unlink(tempPath) }
            }
            _ = fchmod(fd, 0o600)  // whatever the caller's umask
            if let original, geteuid() == 0 { _ = fchown(fd, original.st_uid, original.st_gid) }
            try Sys.writeAll(fd, tempPath, bytes)
            try Sys.fsync(fd, tempPath)
            if let original {
                guard let now = try Sys.lstatIfExists(path), now.st_ino == original.st_ino, now.st_dev == original.st_dev,
                      now.st_size == original.st_size, now.st_mtim.tv_sec == original.st_mtim.tv_sec,
                      now.st_mtim.tv_nsec == original.st_mtim.tv_nsec else {
                    throw PwdirError.busy(path: path)  // replaced by something that ignores the lock
                }
                try Sys.unlinkIfExists(backupPath)
                try Sys.link(path, backupPath)
            }
            try Sys.rename(tempPath, path)
            renamed = true
            try Sys.fsyncFolder(of: path)
        } catch {
            throw PwdirError(error)
        }
    }
}
