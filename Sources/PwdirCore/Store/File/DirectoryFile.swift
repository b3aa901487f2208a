#if canImport(Glibc)
import Glibc
#endif

/// The user directory on disk: `users`, a lock file beside it (`users.lock`), the previous
/// version (`users-`, as shadow keeps `shadow-`) and, while a writer runs, its temp file
/// (`users+`). In format 1 `users` holds every user (`DirectoryCodec`); in format 2, the
/// default for a new directory, it names 256 shard files in `users.d/` (`DirectoryManifest`,
/// `ShardedDirectory`), so that finding or changing one user reads or writes one shard. Format
/// 1 is read and written until `migrate` turns it into format 2.
///
/// Readers never lock: writers replace the file with rename(2), so a reader's open descriptor
/// always sees one whole version. Every writer, module and command alike, goes through
/// `update`: lock, re-read, change, write the temp file, fsync, rename, fsync the folder.
public struct DirectoryFile: Sendable {
    /// From this many users to write (an import, a migration), shards are encoded and written
    /// on two threads.
    public static var usersForTwoThreads: Int { ShardedDirectory.usersForTwoThreads }

    public let path: String
    /// How long `update` waits for the lock before reporting `.busy`.
    public var lockTimeoutMilliseconds = 15_000

    public init(path: String) {
        self.path = path
    }

    public var lockPath: String { path + ".lock" }
    public var tempPath: String { path + "+" }
    public var backupPath: String { path + "-" }
    /// Which version was last checked whole (DirectorySeal; one seal per shard in format 2).
    public var sealPath: String { path + ".seal" }
    /// The shards of format 2.
    public var shardFolderPath: String { path + ".d" }

    var sharded: ShardedDirectory { ShardedDirectory(path: path, backupPath: backupPath, sealPath: sealPath) }

    /// 1 or 2 (see above), as the file says now.
    public func format() throws(PwdirError) -> Int {
        let (fd, _) = try openForReading()
        defer { Sys.close(fd) }
        return isFormat2(fd) ? 2 : 1
    }

    private func isFormat2(_ fd: Int32) -> Bool {
        DirectoryManifest.isFormat2((try? Sys.pread(fd, path, count: DirectoryManifest.header.utf8.count + 1, offset: 0)) ?? [])
    }

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
        if isFormat2(fd) { return try sharded.lookup(login, manifestFD: fd, stat: st) }
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

    /// Calls `body` with every user in login order; in format 2 without holding them all (see
    /// `ShardedDirectory.forEachRecord`, and `needle`, a hint that lets lines be skipped).
    public func forEachRecord(containing needle: String? = nil, _ body: (UserRecord) throws(PwdirError) -> Void) throws(PwdirError) {
        if try format() == 2 { return try sharded.forEachRecord(containing: needle.map { Array($0.utf8) }, body) }
        for r in try load() { try body(r) }
    }

    private func loadWithStat() throws(PwdirError) -> (records: [UserRecord], stat: stat) {
        let (fd, st) = try openForReading()
        defer { Sys.close(fd) }
        if isFormat2(fd) { return (try sharded.load(), st) }
        let bytes: [UInt8]
        do { bytes = try Sys.readAll(fd, path, sizeHint: Int(st.st_size)) } catch { throw .system(error) }
        return (try DirectoryCodec.decode(bytes, path: path), st)
    }

    private func openForReading() throws(PwdirError) -> (fd: Int32, stat: stat) {
        guard let opened = try FileSafety.openChecked(path) else { throw .directoryMissing(path) }
        return opened
    }

    // MARK: Writing

    /// Creates an empty directory (mode 0600) of `format`. Fails if one exists.
    public func create(format: Int = 2) throws(PwdirError) {
        try withLock { () throws(PwdirError) in
            do {
                if try Sys.lstatIfExists(path) != nil { throw PwdirError.directoryExists(path) }
            } catch { throw PwdirError(error) }
            if format == 2 { try sharded.create(with: [], replacing: nil) } else { try replace(with: [], original: nil) }
        }
    }

    /// Turns a directory of format 1 into format 2 in one step (its users checked as every
    /// writer checks them; the format-1 file stays as `users-`). Returns how many users it
    /// holds, or nil if it was of format 2 already.
    public func migrate() throws(PwdirError) -> Int? {
        guard exists else { throw .directoryMissing(path) }
        return try withLock { () throws(PwdirError) -> Int? in
            let (fd, st) = try openForReading()
            let format2 = isFormat2(fd)
            Sys.close(fd)
            if format2 { return nil }
            let (records, original) = try loadWithStat()
            guard original.st_ino == st.st_ino else { throw .changedMeanwhile(path) }
            try sharded.create(with: records, replacing: original)
            return records.count
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
            if try format() == 2 { return try sharded.updateAll(change) }
            return try updateFormat1(change)
        }
    }

    /// `update` for a change to the users who share `login`'s shard (its record, or a new
    /// record of that login, or one differing only in case): in format 2 only that shard is read
    /// and written; in format 1 `change` gets every user.
    @discardableResult
    public func updateRecords<T>(of login: String, _ change: (inout [UserRecord]) throws(PwdirError) -> T) throws(PwdirError) -> T {
        guard exists else { throw .directoryMissing(path) }
        return try withLock { () throws(PwdirError) -> T in
            if try format() == 2 { return try sharded.updateShard(of: login, change) }
            return try updateFormat1(change)
        }
    }

    /// Format 1's update: every user read, changed and written (the caller holds the lock).
    private func updateFormat1<T>(_ change: (inout [UserRecord]) throws(PwdirError) -> T) throws(PwdirError) -> T {
        let (records, st) = try loadWithStat()
        var edited = records
        let result = try change(&edited)
        if edited != records { try replace(with: edited, original: st) }
        return result
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
