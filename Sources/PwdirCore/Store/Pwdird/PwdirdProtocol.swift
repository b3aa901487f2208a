/// What pwdird and its clients (the module, through `PwdirdClientStore`) say to each other over
/// pwdird's Unix socket: one request per connection, one answer. Both are a list of fields,
/// each `NAME LENGTH\n` then LENGTH bytes and `\n`, so a password or a record travels as it is.
///
/// Request: `pwdird`=1, `verb`, `login`, and per verb `secret` (a password or a recovery code,
/// at most 511 bytes), `claim`, `matched`. Verbs: `record`, `tally`, `policy`, `authenticate`,
/// `set-password`, `has-second-factor`, `second-factor`, `recovery-claim`, `recovery-release`,
/// `recovery-finish`.
/// Answer: `outcome`, `record` (the directory's own line format), `tally`, `policy`, `report`,
/// `claim` as the verb needs, then `result` = `ok`, or `error` with `kind` and `message`.
public struct PwdirdMessage: Equatable, Sendable {
    public var fields: [Field]

    public struct Field: Equatable, Sendable {
        public var name: String
        public var value: [UInt8]
    }

    public static let maxBytes = 256 * 1024

    public init(_ fields: [(String, [UInt8])] = []) {
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
    }

    /// The answer that says `error` could not be helped: its kind and its words (a weak
    /// password's reason alone, as the module tells it).
    public static func failure(_ error: PwdirError) -> PwdirdMessage {
        var m = PwdirdMessage()
        m.add("result", "error")
        m.add("kind", PwdirdCodec.kind(error))
        if case let .weakPassword(reason) = error { m.add("message", reason) } else { m.add("message", PwdirError.printable(error.message, limit: 400)) }
        return m
    }

    public mutating func add(_ name: String, _ value: [UInt8]) { fields.append(Field(name: name, value: value)) }
    public mutating func add(_ name: String, _ text: String) { add(name, Array(text.utf8)) }

    public subscript(name: String) -> [UInt8]? { fields.first { $0.name == name }?.value }
    public func text(_ name: String) -> String? { self[name].map { String(decoding: $0, as: UTF8.self) } }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for f in fields {
            out += Array("\(f.name) \(f.value.count)\n".utf8)
            out += f.value
            out.append(0x0A)
        }
        return out
    }

    /// The message in `bytes`, or nil when it is not one (any malformed byte refuses it whole).
    public static func decode(_ bytes: [UInt8]) -> PwdirdMessage? {
        guard bytes.count <= maxBytes else { return nil }
        var m = PwdirdMessage()
        var i = 0
        while i < bytes.count {
            guard let nl = bytes[i...].prefix(80).firstIndex(of: 0x0A) else { return nil }
            let head = bytes[i..<nl]
            guard let space = head.firstIndex(of: 0x20) else { return nil }
            let name = head[i..<space], digits = head[(space + 1)...]
            guard !name.isEmpty, name.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }),
                  !digits.isEmpty, digits.count <= 7, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  digits.count == 1 || digits.first != 0x30,  // one spelling per length
                  let n = Int(String(decoding: digits, as: UTF8.self)) else { return nil }
            let start = nl + 1
            guard start + n < bytes.count, bytes[start + n] == 0x0A else { return nil }
            m.add(String(decoding: name, as: UTF8.self), Array(bytes[start..<(start + n)]))
            i = start + n + 1
        }
        return m
    }
}

/// The answers' pieces, written and read in one place.
public enum PwdirdCodec {
    public static func record(_ r: UserRecord) -> [UInt8] { DirectoryCodec.encode([r]) }

    public static func record(_ bytes: [UInt8]) -> UserRecord? {
        (try? DirectoryCodec.decode(bytes, path: "pwdird"))?.first
    }

    /// `F1,F2,…;LOCKED|-;GENERATION`
    public static func tally(_ t: Tally) -> String {
        t.failures.map(String.init).joined(separator: ",") + ";" + (t.lockedTime.map(String.init) ?? "-") + ";" + String(t.generation)
    }

    public static func tally(_ text: String) -> Tally? {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        guard parts.count == 3, let generation = UInt64(parts[2]) else { return nil }
        var failures: [Int64] = []
        for f in parts[0].split(separator: ",") {
            guard let t = Int64(f) else { return nil }
            failures.append(t)
        }
        let locked: Int64?
        if parts[1] == "-" { locked = nil } else {
            guard let t = Int64(parts[1]) else { return nil }
            locked = t
        }
        return Tally(attempts: failures.map { Tally.Attempt(time: $0) }, lockedTime: locked, generation: generation)
    }

    /// The settings a store decides (an LDAP server's password policy).
    public static func policy(_ s: Settings) -> String {
        "\(s.deny) \(s.unlockTime) \(s.failInterval) \(s.maxage) \(s.warnage) \(s.remember)"
    }

    public static func policy(_ text: String, into s: Settings) -> Settings? {
        let n = text.split(separator: " ").compactMap { Int64($0) }
        guard n.count == 6 else { return nil }
        var out = s
        out.deny = Int(n[0]); out.unlockTime = n[1]; out.failInterval = n[2]
        out.maxage = Int(n[3]); out.warnage = Int(n[4]); out.remember = Int(n[5])
        return out
    }

    static func until(_ t: Int64?) -> String { t.map(String.init) ?? "never" }
    static func until(_ s: Substring) -> Int64? { Int64(s) }

    /// An outcome as a line (and the record of a success, apart).
    public static func outcome(_ o: AuthenticationOutcome) -> String {
        switch o {
        case .success: return "success"
        case let .wrongPassword(lock): return "wrong-password" + (lock.map { " \($0.failures) \(until($0.until))" } ?? "")
        case let .noPassword(lock): return "no-password" + (lock.map { " \($0.failures) \(until($0.until))" } ?? "")
        case .unknownUser: return "unknown-user"
        case let .locked(reason, t): return "locked \(reason.rawValue) \(until(t))"
        case let .damagedTally(why): return "damaged " + PwdirError.printable(why, limit: 200)
        case .temporaryPasswordExpired: return "temporary-expired"
        case .tooManyInFlight: return "too-many-in-flight"
        case .attemptExpired: return "attempt-expired"
        case let .unavailable(e): return "unavailable " + PwdirError.printable(e.message, limit: 400)
        }
    }

    public static func outcome(_ line: String, record: UserRecord?) -> AuthenticationOutcome? {
        let words = line.split(separator: " ", maxSplits: 3)
        guard let first = words.first else { return nil }
        func lock() -> NewLock? {
            guard words.count >= 3, let n = Int(words[1]) else { return nil }
            return NewLock(failures: n, until: until(words[2]))
        }
        switch first {
        case "success": return record.map { .success($0) }
        case "wrong-password": return .wrongPassword(lock: lock())
        case "no-password": return .noPassword(lock: lock())
        case "unknown-user": return .unknownUser
        case "locked":
            guard words.count >= 3, let reason = LockReason(rawValue: String(words[1])) else { return nil }
            return .locked(reason, until: until(words[2]))
        case "damaged": return .damagedTally(String(line.dropFirst(8)))
        case "temporary-expired": return .temporaryPasswordExpired
        case "too-many-in-flight": return .tooManyInFlight
        case "attempt-expired": return .attemptExpired
        case "unavailable": return .unavailable(.server(String(line.dropFirst(12))))
        default: return nil
        }
    }

    public static func report(_ r: PasswordReport) -> String {
        [r.liftedFailureLock, r.stillLockedByAdministrator, r.forcedChangeDone].map { $0 ? "1" : "0" }.joined(separator: " ")
    }

    public static func report(_ text: String) -> PasswordReport? {
        let bits = text.split(separator: " ")
        guard bits.count == 3, bits.allSatisfy({ $0 == "0" || $0 == "1" }) else { return nil }
        var r = PasswordReport()
        r.liftedFailureLock = bits[0] == "1"
        r.stillLockedByAdministrator = bits[1] == "1"
        r.forcedChangeDone = bits[2] == "1"
        return r
    }

    /// A second factor's verdict as a line (and the record of a success, apart):
    /// `success [CODES-LEFT]`, `wrong-code REPLAY [FAILURES UNTIL]`, `not-enrolled`,
    /// `refused OUTCOME…`.
    public static func secondFactor(_ o: SecondFactorOutcome) -> String {
        switch o {
        case let .success(_, left): return "success" + (left.map { " \($0)" } ?? "")
        case let .wrongCode(lock, replay): return "wrong-code \(replay ? 1 : 0)" + (lock.map { " \($0.failures) \(until($0.until))" } ?? "")
        case .notEnrolled: return "not-enrolled"
        case let .refused(outcome): return "refused " + self.outcome(outcome)
        }
    }

    public static func secondFactor(_ line: String, record: UserRecord?) -> SecondFactorOutcome? {
        let words = line.split(separator: " ")
        switch words.first {
        case "success":
            guard let record, words.count <= 2 else { return nil }
            return .success(record, recoveryCodesLeft: words.count == 2 ? Int(words[1]) : nil)
        case "wrong-code":
            guard words.count == 2 || words.count == 4, words[1] == "0" || words[1] == "1" else { return nil }
            let lock = words.count == 4 ? Int(words[2]).map { NewLock(failures: $0, until: until(words[3])) } : nil
            return .wrongCode(lock: lock, replay: words[1] == "1")
        case "not-enrolled": return .notEnrolled
        case "refused": return outcome(String(line.dropFirst(8)), record: record).map { .refused($0) }
        default: return nil
        }
    }

    /// A recovery claim: `NONCE HASH`.
    public static func claim(_ text: String) -> RecoveryClaim? {
        let parts = text.split(separator: " ")
        guard parts.count == 2, let nonce = UInt64(parts[0]), Yescrypt.isWellFormed(String(parts[1])) else { return nil }
        return RecoveryClaim(nonce: nonce, codeHash: String(parts[1]))
    }

    /// An error's kind, for the few a caller tells apart; the rest are the server's.
    public static func kind(_ e: PwdirError) -> String {
        switch e {
        case .notAllowed: return "not-allowed"
        case .userNotFound: return "user-not-found"
        case .lockedMeanwhile: return "locked-meanwhile"
        case .weakPassword: return "weak-password"
        case .changedMeanwhile: return "changed-meanwhile"
        case .invalidValue: return "invalid-value"
        default: return "server"
        }
    }

    public static func error(kind: String, message: String, login: String) -> PwdirError {
        switch kind {
        case "not-allowed": return .notAllowed(message)
        case "user-not-found": return .userNotFound(login)
        case "locked-meanwhile": return .lockedMeanwhile(login)
        case "weak-password": return .weakPassword(message)
        case "changed-meanwhile": return .changedMeanwhile(message)
        case "invalid-value": return .invalidValue(field: "recovery code", reason: message)
        default: return .server(message)
        }
    }
}
