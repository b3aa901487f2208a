#if canImport(Glibc)
import Glibc
#endif

/// Failed logins of one user, kept apart from the directory (`users.tally/LOGIN`) so that a
/// failure rewrites one small file, whatever the number of users. Persistent (unlike
/// faillock's /run), root-owned, replaced atomically under `users.tally/.lock`, so parallel
/// failures are all counted and readers never see half a record.
///
///     pwdir-tally 1
///     failure=1800000000
///     failure=1800000004
///     locked=1800000004
public struct FailureTally: Equatable, Sendable {
    /// Times of the recent failures, oldest first.
    public var failures: [Int64] = []
    /// When the failures locked the account, if they did.
    public var lockedTime: Int64?
    /// An outstanding self-service recovery code, if any (kept here: it changes as rarely and
    /// under the same rules as the failure count).
    public var recovery: RecoveryCode?

    public init(failures: [Int64] = [], lockedTime: Int64? = nil, recovery: RecoveryCode? = nil) {
        self.failures = failures
        self.lockedTime = lockedTime
        self.recovery = recovery
    }

    public var isEmpty: Bool { failures.isEmpty && lockedTime == nil && recovery == nil }

    static let header = "pwdir-tally 1"

    func encode() -> [UInt8] {
        var s = Self.header + "\n"
        for t in failures { s += "failure=\(t)\n" }
        if let lockedTime { s += "locked=\(lockedTime)\n" }
        if let r = recovery { s += "code=\(r.hash)\ncodeSent=\(r.sent)\ncodeExpires=\(r.expires)\ncodeTries=\(r.tries)\n" }
        return Array(s.utf8)
    }

    static func decode(_ bytes: [UInt8], path: String) throws(PwdirError) -> FailureTally {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .directoryCorrupt(path: path, line: 1, reason: "not valid UTF-8")
        }
        var tally = FailureTally()
        var code: String?, sent: Int64?, expires: Int64?, tries: Int?
        var lineNumber = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines.dropLast() {  // the last element follows the final newline
            lineNumber += 1
            func bad(_ why: String) -> PwdirError { .directoryCorrupt(path: path, line: lineNumber, reason: why + "; 'pwdir unlock' resets it") }
            if lineNumber == 1 {
                guard line == header else { throw bad("not a pwdir tally (the first line must be '\(header)')") }
                continue
            }
            if line.hasPrefix("failure="), let t = Int64(line.dropFirst(8)) { tally.failures.append(t) }
            else if line.hasPrefix("locked="), let t = Int64(line.dropFirst(7)) { tally.lockedTime = t }
            else if line.hasPrefix("code="), Yescrypt.isWellFormed(String(line.dropFirst(5))) { code = String(line.dropFirst(5)) }
            else if line.hasPrefix("codeSent="), let t = Int64(line.dropFirst(9)) { sent = t }
            else if line.hasPrefix("codeExpires="), let t = Int64(line.dropFirst(12)) { expires = t }
            else if line.hasPrefix("codeTries="), let n = Int(line.dropFirst(10)) { tries = n }
            else { throw bad("unreadable line") }
        }
        if let code, let sent, let expires, let tries {
            tally.recovery = RecoveryCode(hash: code, sent: sent, expires: expires, tries: tries)
        } else if code != nil || sent != nil || expires != nil || tries != nil {
            throw .directoryCorrupt(path: path, line: lineNumber, reason: "incomplete recovery code; 'pwdir unlock' resets it")
        }
        guard lineNumber >= 1, lines.last == "" else {
            throw .directoryCorrupt(path: path, line: max(lineNumber, 1), reason: "truncated tally; 'pwdir unlock' resets it")
        }
        return tally
    }
}

/// The lockout rules, as faillock.conf states them: `deny` failures in a row, counted over
/// `fail_interval` seconds, lock the account; the lock lifts after `unlock_time` seconds (never
/// when 0) or when an administrator unlocks it. Pure functions of the tally, the settings and
/// the time.
public struct Lockout: Sendable {
    public let deny: Int
    public let unlockTime: Int64
    public let failInterval: Int64

    public init(settings: Settings) {
        deny = settings.deny
        unlockTime = settings.unlockTime
        failInterval = settings.failInterval
    }

    /// When a failure lock in `tally` ends (nil: only an administrator ends it).
    public func lockedUntil(_ tally: FailureTally) -> Int64? {
        guard let locked = tally.lockedTime, unlockTime > 0 else { return nil }
        return locked + unlockTime
    }

    /// True while `tally` holds a lock that has not lifted by `now`.
    public func isLocked(_ tally: FailureTally, now: Int64) -> Bool {
        guard tally.lockedTime != nil else { return false }
        if let until = lockedUntil(tally) { return now < until }
        return true
    }

    /// Failures that still count at `now` (0 once a timed lock has lifted).
    public func countingFailures(_ tally: FailureTally, now: Int64) -> Int {
        if tally.lockedTime != nil && !isLocked(tally, now: now) { return 0 }
        if failInterval == 0 { return tally.failures.count }
        return tally.failures.filter { $0 > now - failInterval }.count
    }

    /// The tally after one more failure at `now`; failures on a locked account are not
    /// added (they do not extend the lock), a lifted lock starts a fresh count.
    public func recordingFailure(_ tally: FailureTally, now: Int64) -> FailureTally {
        if isLocked(tally, now: now) { return tally }
        var t = tally.lockedTime != nil ? FailureTally(recovery: tally.recovery) : tally
        if failInterval > 0 { t.failures.removeAll { $0 <= now - failInterval } }
        t.failures.append(now)
        let keep = max(deny, 16)
        if t.failures.count > keep { t.failures.removeFirst(t.failures.count - keep) }
        if deny > 0 && t.failures.count >= deny { t.lockedTime = now }
        return t
    }
}

/// The tallies of a directory: `users.tally/` beside `users`, created 0700 on first use.
/// Each login has its own lock (`users.tally/.lock.LOGIN`; a login never starts with '.'), so a
/// process stopped while holding one (a user can stop their own `su`) only holds up logins of
/// that one account, and those fail closed rather than go uncounted.
public struct TallyStore: Sendable {
    public let folder: String
    public var lockTimeoutMilliseconds = 10_000

    public init(directory: DirectoryFile) {
        folder = directory.path + ".tally"
    }

    func path(_ login: String) -> String { folder + "/" + login }

    /// The tally of `login` (empty when it has none). Never locks.
    public func read(_ login: String) throws(PwdirError) -> FailureTally {
        let p = path(login)
        guard let fd = try AtomicFile.openChecked(p) else { return FailureTally() }
        defer { Sys.close(fd) }
        let bytes: [UInt8]
        do { bytes = try Sys.readAll(fd, p, sizeHint: 256) } catch { throw .system(error) }
        return try FailureTally.decode(bytes, path: p)
    }

    /// Read and write access to one tally while its lock is held.
    public struct Session {
        let store: TallyStore
        public let login: String

        /// The tally as it is now (a corrupt one reads as empty and is replaced on write).
        public func read() -> FailureTally { (try? store.read(login)) ?? FailureTally() }

        /// Replaces the tally; an empty one removes the file.
        public func write(_ tally: FailureTally) throws(PwdirError) {
            let p = store.path(login)
            if tally.isEmpty {
                do {
                    try Sys.unlinkIfExists(p)
                    try Sys.fsyncFolder(of: p)
                } catch { throw PwdirError(error) }
            } else {
                try AtomicFile.replace(p, with: tally.encode(), original: nil, backup: nil)
            }
        }
    }

    /// Runs `body` holding the lock of `login`'s tally (waiting at most lockTimeoutMilliseconds,
    /// then `.busy`).
    public func withLock<T>(_ login: String, _ body: (Session) throws(PwdirError) -> T) throws(PwdirError) -> T {
        try ensureFolder()
        return try AtomicFile.withLock(folder + "/.lock." + login, target: folder, timeoutMilliseconds: lockTimeoutMilliseconds) { () throws(PwdirError) -> T in
            try body(Session(store: self, login: login))
        }
    }

    /// Read-change-write of one tally under its lock; an empty result removes the file.
    @discardableResult
    public func update(_ login: String, _ change: (inout FailureTally) -> Void) throws(PwdirError) -> FailureTally {
        try withLock(login) { (session) throws(PwdirError) -> FailureTally in
            let existing = try? read(login)  // nil: corrupt, and replaced below
            var tally = existing ?? FailureTally()
            change(&tally)
            if let existing, existing == tally { return tally }
            try session.write(tally)
            return tally
        }
    }

    /// The name whose lock and tally stand in for logins that have none (unknown users):
    /// no login can start with '.'.
    public static let decoy = ".decoy"

    /// The same write a counted failure makes, on the decoy tally: unknown and locked users
    /// cost the same I/O as a wrong password, so timing tells nothing.
    public func recordDecoy(now: Int64, in session: Session? = nil) throws(PwdirError) {
        let change = { (t: inout FailureTally) in
            t.failures.append(now)
            if t.failures.count > 16 { t.failures.removeFirst(t.failures.count - 16) }
        }
        if let session {
            var t = session.read()
            change(&t)
            try session.write(t)
        } else {
            try update(Self.decoy, change)
        }
    }

    /// Removes the tally of `login` (an unlock, a removed user).
    public func reset(_ login: String) throws(PwdirError) {
        guard (try? Sys.lstatIfExists(path(login))) ?? nil != nil else { return }
        try update(login) { $0 = FailureTally() }
    }

    private func ensureFolder() throws(PwdirError) {
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            let e = errno
            if e == ENOENT { throw .directoryMissing(Paths.folder(of: folder)) }
            throw .system(SystemError("mkdir", folder, e))
        }
        var st = stat()
        guard lstat(folder, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw .unsafeFile(path: folder, reason: "not a folder")
        }
        if (st.st_mode & 0o022) != 0 || (st.st_uid != 0 && st.st_uid != geteuid()) {
            throw .unsafeFile(path: folder, reason: "others may write it; run chmod 700 on it")
        }
    }
}
