#if canImport(Glibc)
import Glibc
#endif

/// The directory of format 2 on disk (`DirectoryManifest`): `users` names one file per shard in
/// `users.d/`. Finding a user reads `users` and one shard; a change rewrites the shards it
/// touches as new files, fsyncs them, and commits by replacing `users` (AtomicFile's recipe,
/// which keeps the previous `users` as `users-`). Shard files are never written in place, so a
/// reader that opened one sees one whole version; a reader whose shard file was removed by two
/// later changes reads `users` again. Writers hold `users.lock` (the caller takes it).
struct ShardedDirectory {
    let path: String
    let backupPath: String
    let sealPath: String

    var folder: String { path + ".d" }
    func shardPath(_ name: String) -> String { folder + "/" + name }

    /// How many times a reader re-reads `users` when a shard it names is gone meanwhile.
    static let readAttempts = 8

    // MARK: Reading

    /// The manifest in the open `users` (`fd`, checked by the caller).
    func readManifest(_ fd: Int32, _ st: stat) throws(PwdirError) -> DirectoryManifest {
        let bytes: [UInt8]
        do { bytes = try Sys.readAll(fd, path, sizeHint: Int(st.st_size)) } catch { throw .system(error) }
        return try DirectoryManifest.decode(bytes, path: path)
    }

    func readManifest() throws(PwdirError) -> (manifest: DirectoryManifest, stat: stat) {
        guard let (fd, st) = try FileSafety.openChecked(path) else { throw .directoryMissing(path) }
        defer { Sys.close(fd) }
        return (try readManifest(fd, st), st)
    }

    /// Opens `users.d/`: a folder (not a link), root's or ours, that nobody else may write.
    func openFolder() throws(PwdirError) -> Int32 {
        let fd: Int32
        do throws(SystemError) {
            guard let opened = try Sys.openIfExists(folder, O_RDONLY | O_DIRECTORY) else {
                throw SystemError("open", folder, ENOENT)
            }
            fd = opened
        } catch {
            switch error.code {
            case ENOENT: throw .directoryCorrupt(path: path, line: 1, reason: "its folder of shards \(folder) is missing (restore it from a backup)")
            case ELOOP: throw .unsafeFile(path: folder, reason: "it is a symbolic link")
            case ENOTDIR: throw .unsafeFile(path: folder, reason: "it is not a folder")
            default: throw .system(error)
            }
        }
        do {
            let st = try Sys.fstat(fd, folder)
            if (st.st_mode & 0o022) != 0 || (st.st_uid != 0 && st.st_uid != Sys.effectiveUID) {
                Sys.close(fd)
                throw PwdirError.unsafeFile(path: folder, reason: "others may write it; run chmod 700 on it")
            }
        } catch {
            Sys.close(fd)
            throw PwdirError(error)
        }
        return fd
    }

    /// The error for a shard file `users` names but that is not there.
    func missing(_ shard: Int, _ m: DirectoryManifest) -> PwdirError { missing(shard, m.files[shard]) }

    func missing(_ shard: Int, _ name: String) -> PwdirError {
        .directoryCorrupt(path: path, line: shard + 3, reason: "it names \(shardPath(name)), which does not exist (restore the directory from a backup)")
    }

    /// Maps shard `k`'s file for `body`; nil when it does not exist (a writer removed it after
    /// we read `users`). With `sealed`, a version its seal does not name is first checked whole
    /// (and sealed); without, `body` is trusted to check what it reads.
    func withShard<T>(_ k: Int, of m: DirectoryManifest, folderFD: Int32, sealed: Bool,
                      _ body: (UnsafeRawBufferPointer, String) throws(PwdirError) -> T) throws(PwdirError) -> T? {
        try withShard(k, named: m.files[k], folderFD: folderFD, sealed: sealed, body)
    }

    func withShard<T>(_ k: Int, named name: String, folderFD: Int32, sealed: Bool,
                      _ body: (UnsafeRawBufferPointer, String) throws(PwdirError) -> T) throws(PwdirError) -> T? {
        guard let (fd, st, p) = try openShard(named: name, folderFD: folderFD) else { return nil }
        defer { Sys.close(fd) }
        return try Sys.withMapping(fd, p, size: Int(st.st_size)) { (bytes) throws(PwdirError) -> T in
            if sealed { try checkUnlessSealed(k, bytes, st, path: p) }
            return try body(bytes, p)
        }
    }

    /// Opens the shard file `name` and checks it (FileSafety); nil when it does not exist.
    func openShard(named name: String, folderFD: Int32) throws(PwdirError) -> (fd: Int32, stat: stat, path: String)? {
        let p = shardPath(name)
        guard let (fd, st) = try FileSafety.openChecked(p, name: name, in: folderFD) else { return nil }
        return (fd, st, p)
    }

    /// A shard version its seal does not name is checked whole, as the command checks it, then
    /// sealed.
    func checkUnlessSealed(_ k: Int, _ bytes: UnsafeRawBufferPointer, _ st: stat, path p: String) throws(PwdirError) {
        if DirectorySeal.matches(st, sealPath: sealPath, slot: k) { return }
        _ = try DirectoryCodec.decode(bytes, path: p, header: DirectoryManifest.shardHeader(k), shard: k)
        DirectorySeal.write(st, sealPath: sealPath, slot: k)
    }

    /// One user, reading `users` (already open as `fd`) and one shard.
    func lookup(_ login: String, manifestFD fd: Int32, stat st: stat) throws(PwdirError) -> UserRecord? {
        let k = DirectoryManifest.shard(of: login)
        var name = try shardFileName(k, fd, st)
        let folderFD = try openFolder()
        defer { Sys.close(folderFD) }
        for _ in 0..<Self.readAttempts {
            let found = try withShard(k, named: name, folderFD: folderFD, sealed: true) { (bytes, p) throws(PwdirError) in
                try DirectoryCodec.lookup(login, in: bytes, path: p, header: DirectoryManifest.shardHeader(k))
            }
            if let found { return found }
            guard let (again, againStat) = try FileSafety.openChecked(path) else { throw .directoryMissing(path) }
            defer { Sys.close(again) }
            name = try shardFileName(k, again, againStat)
        }
        throw missing(k, name)
    }

    /// Shard `k`'s file as `users` (open as `fd`) names it, the whole of `users` checked.
    private func shardFileName(_ k: Int, _ fd: Int32, _ st: stat) throws(PwdirError) -> String {
        let bytes: [UInt8]
        do { bytes = try Sys.readAll(fd, path, sizeHint: Int(st.st_size)) } catch { throw .system(error) }
        return try DirectoryManifest.file(ofShard: k, in: bytes, path: path)
    }

    /// Every shard's users, each shard checked whole as it is read.
    func loadShards() throws(PwdirError) -> (manifest: DirectoryManifest, stat: stat, shards: [[UserRecord]]) {
        let folderFD = try openFolder()
        defer { Sys.close(folderFD) }
        return try everyShard { (k, m) throws(PwdirError) in
            try withShard(k, of: m, folderFD: folderFD, sealed: false) { (bytes, p) throws(PwdirError) in
                try DirectoryCodec.decode(bytes, path: p, header: DirectoryManifest.shardHeader(k), shard: k)
            }
        }
    }

    /// One value per shard, from `open` given the shard and the manifest; nil from it means the
    /// file the manifest names is gone (a writer committed meanwhile): the manifest is read
    /// again and every shard opened again, a few times at most.
    private func everyShard<T>(_ open: (Int, DirectoryManifest) throws(PwdirError) -> T?) throws(PwdirError) -> (manifest: DirectoryManifest, stat: stat, shards: [T]) {
        for _ in 0..<Self.readAttempts {
            let (m, st) = try readManifest()
            var shards: [T] = []
            shards.reserveCapacity(DirectoryManifest.shardCount)
            for k in 0..<DirectoryManifest.shardCount {
                guard let value = try open(k, m) else { break }
                shards.append(value)
            }
            if shards.count == DirectoryManifest.shardCount { return (m, st, shards) }
        }
        throw .directoryCorrupt(path: path, line: 1, reason: "its shards kept changing while being read; try again")
    }

    /// Every user, sorted by login.
    func load() throws(PwdirError) -> [UserRecord] {
        Self.merged(try loadShards().shards)
    }

    static func merged(_ shards: [[UserRecord]]) -> [UserRecord] {
        var all = shards.flatMap { $0 }
        all.sort { $0.login.utf8.lexicographicallyPrecedes($1.login.utf8) }
        return all
    }

    /// Calls `body` with every user in login order, reading the shards side by side (a merge),
    /// so memory does not grow with the number of users: each shard is checked whole first
    /// unless its seal names it, then read through a buffer of its own. With `needle`, a line
    /// that cannot contain it (ASCII letters compared without case; a line with an escape or a
    /// non-ASCII byte is always decoded) is skipped without being decoded.
    func forEachRecord(containing needle: [UInt8]?, _ body: (UserRecord) throws(PwdirError) -> Void) throws(PwdirError) {
        let folderFD = try openFolder()
        defer { Sys.close(folderFD) }
        let shards = try everyShard { (k, m) throws(PwdirError) in try ShardReader(k, of: m, in: self, folderFD: folderFD) }.shards
        let folded = needle.map { $0.map(LoginName.foldASCII) }
        var heap = ShardHeap(shards.filter { !$0.atEnd })
        while let s = heap.first {
            let line = s.currentLine
            if folded.map({ Self.mayContain(s.bytes, line, $0) }) ?? true {
                try body(try DirectoryCodec.decodeLine(s.bytes, line, line: { s.lineNumber }, path: s.path))
            }
            try s.advance()
            heap.fix()
        }
    }

    /// Whether the line could hold `needle` in some value (a superset of the exact test): it
    /// holds it with ASCII letters compared without case, or it holds an escape or a byte of a
    /// non-ASCII character (whose lower case the caller works out). One pass.
    static func mayContain(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        return needle.withUnsafeBufferPointer { n in
            var i = line.lowerBound
            let end = line.upperBound
            while i < end {
                let b = base[i]
                if b >= 0x80 || b == UInt8(ascii: "%") { return true }
                if LoginName.foldASCII(b) == first && end - i >= n.count {
                    var k = 1
                    while k < n.count && LoginName.foldASCII(base[i + k]) == n[k] { k += 1 }
                    if k == n.count { return true }
                }
                i += 1
            }
            return false
        }
    }

    // MARK: Writing (the caller holds users.lock)

    /// Creates `users.d/` (root's, 0700) if missing, and checks it.
    func ensureFolder() throws(PwdirError) {
        try FileSafety.makeFolder(folder)
        Sys.close(try openFolder())
    }

    /// Read-change-write of the shard holding `login`: only that shard is read and written.
    func updateShard<T>(of login: String, _ change: (inout [UserRecord]) throws(PwdirError) -> T) throws(PwdirError) -> T {
        let (m, st) = try readManifest()
        let k = DirectoryManifest.shard(of: login)
        let folderFD = try openFolder()
        defer { Sys.close(folderFD) }
        guard let records = try withShard(k, of: m, folderFD: folderFD, sealed: false, { (bytes, p) throws(PwdirError) in
            try DirectoryCodec.decode(bytes, path: p, header: DirectoryManifest.shardHeader(k), shard: k)
        }) else { throw missing(k, m) }
        var edited = records
        let result = try change(&edited)
        if let stranger = edited.first(where: { DirectoryManifest.shard(of: $0.login) != k }) {
            throw .invalidValue(field: "user", reason: "'\(stranger.login)' does not belong with '\(login)' (a change of one user changed another)")
        }
        if edited != records {
            edited.sort { $0.login.utf8.lexicographicallyPrecedes($1.login.utf8) }
            try commit([k: edited], over: m, stat: st)
        }
        return result
    }

    /// Read-change-write of every user (an import, a batch): the shards whose users changed are
    /// written, in one commit.
    func updateAll<T>(_ change: (inout [UserRecord]) throws(PwdirError) -> T) throws(PwdirError) -> T {
        let (m, st, shards) = try loadShards()
        var edited = Self.merged(shards)
        let result = try change(&edited)
        var buckets = [[UserRecord]](repeating: [], count: DirectoryManifest.shardCount)
        for r in edited { buckets[DirectoryManifest.shard(of: r.login)].append(r) }
        var changed: [Int: [UserRecord]] = [:]
        for k in buckets.indices {
            buckets[k].sort { $0.login.utf8.lexicographicallyPrecedes($1.login.utf8) }
            if buckets[k] != shards[k] { changed[k] = buckets[k] }
        }
        if !changed.isEmpty { try commit(changed, over: m, stat: st) }
        return result
    }

    /// Writes format 2 for the first time: from `records` (a migration, over the format-1 file
    /// whose stat is `original`), or empty (a new directory, `original` nil).
    func create(with records: [UserRecord], replacing original: stat?) throws(PwdirError) {
        try ensureFolder()
        var buckets = [[UserRecord]](repeating: [], count: DirectoryManifest.shardCount)
        for r in records { buckets[DirectoryManifest.shard(of: r.login)].append(r) }
        let changed = Dictionary(uniqueKeysWithValues: buckets.enumerated().map { ($0.offset, $0.element) })
        let m = DirectoryManifest(generation: 0, files: [String](repeating: "", count: DirectoryManifest.shardCount))
        try commit(changed, over: m, stat: original, previousFiles: [])
    }

    /// The write: each changed shard as a new file named by the next generation (fsynced), the
    /// folder fsynced, then `users` replaced (the commit, with `users-` keeping the previous
    /// one); then the new shards are sealed and the files neither `users` nor `users-` names
    /// are removed. Before the commit, a failure removes what it wrote and nothing changed.
    /// Below this many users to write, a second thread costs more than it saves.
    static let usersForTwoThreads = 20_000

    private func commit(_ changed: [Int: [UserRecord]], over m: DirectoryManifest, stat original: stat?,
                        previousFiles: [String]? = nil) throws(PwdirError) {
        var next = m
        next.generation += 1
        let folderFD = try openFolder()
        defer { Sys.close(folderFD) }
        var written: [(shard: Int, path: String)] = []
        var unsynced: [(fd: Int32, path: String)] = []
        defer { for u in unsynced { Sys.close(u.fd) } }
        func removeWritten() { for w in written { try? Sys.unlinkIfExists(w.path) } }
        do throws(PwdirError) {
            // Every shard written first, its writeback started at once; then each fsynced (the
            // disk works on all of them together, not one at a time). Many users to write (an
            // import, a migration): encoded and written on two threads.
            let shards = changed.keys.sorted()
            let names = shards.map { DirectoryManifest.fileName(shard: $0, generation: next.generation) }
            let write = { @Sendable [self] (i: Int) -> Result<Int32, PwdirError> in
                let k = shards[i]
                return Result { () throws(PwdirError) in
                    try writeNewFile(shardPath(names[i]), DirectoryCodec.encode(changed[k]!, header: DirectoryManifest.shardHeader(k), sorted: true), like: original)
                }
            }
            let users = changed.values.reduce(0) { $0 + $1.count }
            let outcomes = users >= Self.usersForTwoThreads ? TwoThreads.map(shards.count, write) : shards.indices.map(write)
            var firstError: PwdirError?
            for (i, k) in shards.enumerated() {
                written.append((k, shardPath(names[i])))
                switch outcomes[i] {
                case .success(let fd): unsynced.append((fd, shardPath(names[i])))
                case .failure(let e): firstError = firstError ?? e
                }
                next.files[k] = names[i]
            }
            if let firstError { throw firstError }
            do {
                for u in unsynced { try Sys.fsync(u.fd, u.path) }
                try Sys.fsync(folderFD, folder)
            } catch { throw PwdirError.system(error) }
            try AtomicFile.replace(path, with: next.encode(), original: original, backup: original == nil ? nil : backupPath)
        } catch {
            if case .mayHaveBeenApplied = error { throw error }  // the new version may be in place: keep its shards
            removeWritten()
            throw error
        }
        for w in written {
            if let st = try? Sys.lstatIfExists(w.path) { DirectorySeal.write(st, sealPath: sealPath, slot: w.shard) }
        }
        removeUnnamed(keeping: Set(next.files).union(previousFiles ?? m.files))
    }

    /// A new file at `p` (a stale one from a writer killed mid-way removed first), 0600, owned
    /// like `users` (root's for a new directory), written, its writeback started; returns the
    /// open descriptor, for the caller to fsync and close.
    private func writeNewFile(_ p: String, _ bytes: [UInt8], like original: stat?) throws(PwdirError) -> Int32 {
        var opened: Int32 = -1
        do {
            try Sys.unlinkIfExists(p)
            let fd = try Sys.open(p, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            opened = fd
            try Sys.fchmod(fd, p, 0o600)
            if let original { try Sys.own(fd, p, uid: original.st_uid, gid: original.st_gid) } else { try Sys.ownByRoot(fd, p) }
            try Sys.writeAll(fd, p, bytes)
            Sys.startWriteback(fd)
            return fd
        } catch {
            if opened >= 0 { Sys.close(opened) }
            try? Sys.unlinkIfExists(p)
            throw PwdirError(error)
        }
    }

    /// Removes the shard files (names like "07.31") in `users.d/` that no version kept names:
    /// the shards of versions older than `users-`, and those of a writer that died before its
    /// commit. Best effort: what stays is only disk space.
    private func removeUnnamed(keeping kept: Set<String>) {
        guard let names = try? Sys.listFolder(folder) else { return }
        for name in names where !kept.contains(name) && Self.looksLikeShardFile(name) {
            try? Sys.unlinkIfExists(shardPath(name))
        }
    }

    static func looksLikeShardFile(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard b.count >= 4, b.count <= 23, b[2] == UInt8(ascii: "."),
              b[0..<2].allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else { return false }
        return b[3...].allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}

/// One shard's file, open, read through a buffer of its own with a cursor over its user lines
/// (for the merge: 256 of them side by side hold 256 buffers, whatever the number of users).
final class ShardReader {
    let shard: Int
    let path: String
    private let fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    /// The file offset of buffer[0], and how many bytes of the buffer hold file data.
    private var bufferOffset = 0
    private var filled = 0
    /// Where the user lines end in the file (the trailer's first byte).
    private var bodyEnd = 0
    /// The current line and its login, as ranges of `bytes`.
    private(set) var currentLine: Range<Int> = 0..<0
    private(set) var currentLogin: Range<Int> = 0..<0
    /// The current line's number in the file (for errors).
    private(set) var lineNumber = 1
    private(set) var atEnd = false

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: buffer.baseAddress, count: filled) }

    /// nil when the file is gone (see `ShardedDirectory.withShard`).
    init?(_ k: Int, of m: DirectoryManifest, in directory: ShardedDirectory, folderFD: Int32) throws(PwdirError) {
        shard = k
        buffer = .allocate(byteCount: 1 << 15, alignment: 16)
        guard let (opened, st, p) = try directory.openShard(named: m.files[k], folderFD: folderFD) else {
            buffer.deallocate()
            return nil
        }
        fd = opened
        path = p
        // Checked whole unless sealed, then let go: the merge reads it again through the buffer.
        try Sys.withMapping(fd, path, size: Int(st.st_size)) { (bytes) throws(PwdirError) in
            try directory.checkUnlessSealed(k, bytes, st, path: path)
            let frame = try DirectoryCodec.Frame(bytes, path: path, header: DirectoryManifest.shardHeader(k))
            (bufferOffset, bodyEnd) = (frame.bodyStart, frame.bodyEnd)
        }
        lineNumber = 1
        try locate()
    }

    deinit {
        buffer.deallocate()
        Sys.close(fd)
    }

    /// Moves to the next line.
    func advance() throws(PwdirError) {
        let next = bufferOffset + currentLine.upperBound + 1
        try locate(from: next)
    }

    /// Makes the line starting at file offset `start` (default: the first user line) current,
    /// reading more of the file when the buffer does not hold all of it.
    private func locate(from start: Int? = nil) throws(PwdirError) {
        let start = start ?? bufferOffset
        lineNumber += 1
        guard start < bodyEnd else {
            atEnd = true
            return
        }
        var i = start - bufferOffset
        if i < 0 || i > filled { try refill(at: start); i = 0 }
        while true {
            if i < filled, let nl = memchr(buffer.baseAddress! + i, 0x0A, filled - i) {
                currentLine = i..<(nl - buffer.baseAddress!)
                break
            }
            // The line goes on past the buffer: read from its start, growing the buffer if it
            // holds less than the line.
            if i == 0 && filled == buffer.count {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
                bigger.copyMemory(from: UnsafeRawBufferPointer(buffer))
                buffer.deallocate()
                buffer = bigger
            }
            let before = filled - i
            try refill(at: bufferOffset + i)
            guard filled > before else {
                throw .directoryCorrupt(path: path, line: lineNumber, reason: "the file ended in the middle of a line (it changed while being read?)")
            }
            i = 0
        }
        let login = try DirectoryCodec.loginOfLine(bytes, currentLine, path: path)
        currentLogin = login.startIndex..<login.endIndex
    }

    /// Fills the buffer with the file from `offset` (up to the end of the user lines).
    private func refill(at offset: Int) throws(PwdirError) {
        let want = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, bodyEnd - offset)])
        do { filled = try Sys.pread(fd, path, into: want, offset: offset) } catch { throw .system(error) }
        bufferOffset = offset
    }

    /// Byte order of the current logins.
    static func precedes(_ a: ShardReader, _ b: ShardReader) -> Bool {
        let (x, y) = (a.currentLogin, b.currentLogin)
        let c = memcmp(a.buffer.baseAddress! + x.lowerBound, b.buffer.baseAddress! + y.lowerBound, min(x.count, y.count))
        return c < 0 || (c == 0 && x.count < y.count)
    }
}

/// A min-heap of shards by their current login.
struct ShardHeap {
    private var items: [ShardReader]

    init(_ shards: [ShardReader]) {
        items = shards
        for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    var first: ShardReader? { items.first }

    /// After the first shard advanced: drops it at its end, else moves it into place.
    mutating func fix() {
        guard let top = items.first else { return }
        if top.atEnd {
            let last = items.removeLast()
            if !items.isEmpty { items[0] = last }
        }
        if !items.isEmpty { siftDown(0) }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < items.count && ShardReader.precedes(items[l], items[smallest]) { smallest = l }
            if r < items.count && ShardReader.precedes(items[r], items[smallest]) { smallest = r }
            if smallest == i { return }
            items.swapAt(i, smallest)
            i = smallest
        }
    }
}
