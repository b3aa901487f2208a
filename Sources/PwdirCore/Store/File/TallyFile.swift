#if canImport(Glibc)
import Glibc
#endif

/// The tallies of a directory: `users.tally/` beside `users` (root's, 0700), one file per
/// account (TallyCodec's fixed 4096 bytes, root's, 0600) and `.decoy`, which stands in for
/// names that are not accounts. An account's file is its own lock (an OFD lock held only for
/// the bookkeeping of one attempt, in a section the caller cannot stop); the decoy is never
/// locked, so no login can hold up another.
public struct TallyFolder: Sendable {
    public let path: String
    /// How long a lock is waited for: its holders only read and write one small file.
    public var lockTimeoutMilliseconds = 3000

    public init(directoryPath: String) {
        path = directoryPath + ".tally"
    }

    public static let decoyName = ".decoy"

    public func filePath(_ login: String) -> String { path + "/" + login }

    /// Creates the folder (0700, root's) if it does not exist and checks it.
    public func ensure() throws(PwdirError) {
        try FileSafety.ensureFolder(path, others: 0o022, advice: "others may write it; run chmod 700 on it")
    }

    /// The account's tally file, made empty if it does not exist yet. `.tallyDamaged` when the
    /// file is not one pwdir wrote (a link, another owner, other modes, another size).
    public func open(_ login: String, create: Bool = true) throws(PwdirError) -> TallyFile? {
        let p = filePath(login)
        do {
            if let fd = try Sys.openIfExists(p, O_RDWR) {
                if let old = TallyVersion1.migrating(fd, path: p) {  // written by pwdir 0.8
                    Sys.close(fd)
                    try make(login, old)
                    return try open(login, create: false)
                }
                return try TallyFile(fd: fd, path: p, login: login)
            }
        } catch let e as PwdirError {
            throw e
        } catch let e as SystemError {
            if e.code == ELOOP { throw .tallyDamaged(login: login, path: p, reason: "it is a symbolic link") }
            if e.code == EISDIR { throw .tallyDamaged(login: login, path: p, reason: "it is a folder") }
            throw .system(e)
        } catch { throw PwdirError(error) }
        guard create else { return nil }
        try make(login, Tally())
        return try open(login, create: false)
    }

    /// Writes a fresh tally file for `login` holding `tally`, through the one atomic-write
    /// recipe (temp file `LOGIN+`, never a login, synced, renamed), so a reader sees the old file
    /// or the whole new one. An empty folder in the tally's place (rename(2) cannot replace it)
    /// is removed first; a folder with files in it is left for root to look at.
    public func make(_ login: String, _ tally: Tally) throws(PwdirError) {
        try ensure()
        try removeFolder(filePath(login))
        try AtomicFile.replace(filePath(login), with: TallyCodec.encodeFile(tally), original: nil, backup: nil)
    }

    /// Removes the tally of `login` (a removed user); nothing when there is none.
    public func remove(_ login: String) throws(PwdirError) {
        try removeFolder(filePath(login))
        do { try Sys.unlinkIfExists(filePath(login)) } catch { throw .system(error) }
    }

    /// Removes an empty folder found where a tally file belongs.
    private func removeFolder(_ p: String) throws(PwdirError) {
        do {
            guard let st = try Sys.lstatIfExists(p), (st.st_mode & S_IFMT) == S_IFDIR else { return }
            guard try Sys.removeEmptyFolder(p) else {
                throw PwdirError.unsafeFile(path: p, reason: "a folder with files in it stands where the tally belongs; move it away")
            }
        } catch let e as PwdirError { throw e } catch let e as SystemError { throw .system(e) } catch { throw PwdirError(error) }
    }

    /// The tally of `login`, read without a lock (writers replace a slot whole, and a torn slot
    /// fails its checksum). An empty tally when there is none.
    public func read(_ login: String) throws(PwdirError) -> Tally {
        guard let file = try open(login, create: false) else { return Tally() }
        return try file.read().tally
    }

    /// The same reads and writes as an account's attempt, on the decoy file and without a lock:
    /// names that are not accounts cost the same I/O and take nothing another login could wait
    /// for. Errors are ignored (a full disk must not refuse names pwdir does not know).
    public func touchDecoy(durable: Bool) {
        do {
            try ensure()
            if (try? Sys.lstatIfExists(filePath(Self.decoyName))) ?? nil == nil { try make(Self.decoyName, Tally()) }
            guard let fd = try? Sys.open(filePath(Self.decoyName), O_RDWR) else { return }
            defer { Sys.close(fd) }
            let bytes = (try? Sys.pread(fd, path, count: TallyCodec.fileSize, offset: 0)) ?? []
            let sequence = (try? TallyCodec.decode(bytes))?.sequence ?? 1
            let (offset, slot) = TallyCodec.encodeSlot(Tally(), after: sequence)
            try? Sys.pwrite(fd, path, slot, offset: offset)
            if durable { try? Sys.fsync(fd, path) }
        } catch {}
    }
}

/// One account's open tally file.
public final class TallyFile {
    let fd: Int32
    public let path: String
    public let login: String
    /// When the file was last written (seconds), for telling a damage older than an unlock.
    public let modified: Int64

    init(fd: Int32, path: String, login: String) throws(PwdirError) {
        self.fd = fd
        self.path = path
        self.login = login
        let st: stat
        do { st = try Sys.fstat(fd, path) } catch {
            Sys.close(fd)
            throw .system(error)
        }
        modified = Int64(st.st_mtim.tv_sec)
        func damaged(_ why: String) -> PwdirError {
            Sys.close(fd)
            return .tallyDamaged(login: login, path: path, reason: why)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw damaged("it is not a regular file") }
        guard st.st_uid == Sys.effectiveUID || st.st_uid == 0 else { throw damaged("it is owned by uid \(st.st_uid)") }
        guard st.st_mode & 0o077 == 0 else { throw damaged("its mode is \(String(st.st_mode & 0o777, radix: 8)), not 600") }
        guard Int(st.st_size) == TallyCodec.fileSize else { throw damaged("it is \(st.st_size) bytes long, not \(TallyCodec.fileSize)") }
    }

    deinit { Sys.close(fd) }

    /// The current version; `.tallyDamaged` if no copy in the file reads back.
    public func read() throws(PwdirError) -> (tally: Tally, sequence: UInt64) {
        let bytes: [UInt8]
        do { bytes = try Sys.pread(fd, path, count: TallyCodec.fileSize, offset: 0) } catch { throw .system(error) }
        do { return try TallyCodec.decode(bytes) } catch { throw .tallyDamaged(login: login, path: path, reason: error.reason) }
    }

    /// Read-change-write under the file's lock, held for this bookkeeping only, in a section the
    /// caller's user cannot stop. The new version goes to the other slot, in place (no new disk
    /// block); `durable` syncs it before the lock is released. `.busy` when the lock cannot be had.
    public func update<T>(durable: Bool, timeoutMilliseconds: Int, _ change: (inout Tally) throws(PwdirError) -> T) throws(PwdirError) -> T {
        try Sys.unstoppable { () throws(PwdirError) -> T in
            let locked: Bool
            do throws(SystemError) { locked = try Sys.lock(fd, path, timeoutMilliseconds: timeoutMilliseconds) } catch { throw .system(error) }
            guard locked else { throw .busy(path: path) }
            defer { Sys.unlock(fd) }
            let (current, sequence) = try read()
            var tally = current
            let result = try change(&tally)
            let (offset, slot) = TallyCodec.encodeSlot(tally, after: sequence)
            do throws(SystemError) {
                try Sys.pwrite(fd, path, slot, offset: offset)
                if durable { try Sys.fsync(fd, path) }
            } catch { throw .system(error) }
            return result
        }
    }
}
