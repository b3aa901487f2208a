#if canImport(Glibc)
import Glibc
#endif

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
    /// Which version was last checked whole (DirectorySeal).
    public var sealPath: String { path + ".seal" }

    // MARK: Reading

    /// Reads and strictly parses every line (the command's view).
    public func load() throws(PwdirError) -> [UserRecord] {
        try loadWithStat().records
    }

    /// Finds one user without reading the whole file (the module's view): the file is mapped
    /// and searched by login; header, trailer and every line probed are checked. A version the
    /// seal does not name is first checked whole, as the command checks it (`DirectorySeal`).
    /// One open of the directory.
    public func lookup(_ login: String) throws(PwdirError) -> UserRecord? {
        let (fd, st) = try openForReading()
        defer { Sys.close(fd) }
        let sealed = DirectorySeal.matches(st, sealPath: sealPath)
        return try Sys.withMapping(fd, path, size: Int(st.st_size)) { (bytes) throws(PwdirError) in
            if !sealed {
                _ = try DirectoryCodec.decode(bytes, path: path)
                DirectorySeal.write(st, sealPath: sealPath)
            }
            return try DirectoryCodec.lookup(login, in: bytes, path: path)
        }
    }

    public var exists: Bool { ((try? Sys.lstatIfExists(path)) ?? nil) != nil }

    private func loadWithStat() throws(PwdirError) -> (records: [UserRecord], stat: stat) {
        let (fd, st) = try openForReading()
        defer { Sys.close(fd) }
        let bytes: [UInt8]
        do { bytes = try Sys.readAll(fd, path, sizeHint: Int(st.st_size)) } catch { throw .system(error) }
        return (try DirectoryCodec.decode(bytes, path: path), st)
    }

    private func openForReading() throws(PwdirError) -> (fd: Int32, stat: stat) {
        guard let opened = try FileSafety.openChecked(path) else { throw .directoryMissing(path) }
        return opened
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
        // No lock file is left beside a directory that does not exist.
        guard exists else { throw .directoryMissing(path) }
        return try withLock { () throws(PwdirError) -> T in
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
        try AtomicFile.withLock(lockPath, target: path, timeoutMilliseconds: lockTimeoutMilliseconds, body)
    }

    /// Writes the new version and seals it (what the encoder writes passes the whole check).
    private func replace(with records: [UserRecord], original: stat?) throws(PwdirError) {
        try AtomicFile.replace(path, with: DirectoryCodec.encode(records), original: original, backup: backupPath)
        if let st = try? Sys.lstatIfExists(path) { DirectorySeal.write(st, sealPath: sealPath) }
    }
}
