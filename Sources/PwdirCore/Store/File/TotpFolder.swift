#if canImport(Glibc)
import Glibc
#endif

/// A user's second factor, as `pwdir totp` wrote it: the TOTP key, when it was made, and the
/// hashes of the recovery codes. Only the command writes it; the module only reads it.
public struct TotpEnrolment: Sendable {
    public var key: SecretBytes
    /// Names this key: a state written for another key (enrolled again) does not apply.
    public var keyID: String
    public var created: Int64
    /// Names this set of recovery codes ("" when there is none): spent marks of an older set
    /// do not apply.
    public var codesID: String
    public var codes: [TotpRecoveryCode]

    public init(key: SecretBytes, keyID: String, created: Int64, codesID: String = "", codes: [TotpRecoveryCode] = []) {
        self.key = key
        self.keyID = keyID
        self.created = created
        self.codesID = codesID
        self.codes = codes
    }
}

/// One single-use recovery code of a second factor: its first group in clear (so a typed code
/// costs one hash, not ten) and the yescrypt hash of the whole code.
public struct TotpRecoveryCode: Equatable, Sendable {
    public var tag: String
    public var hash: String

    public init(tag: String, hash: String) {
        self.tag = tag
        self.hash = hash
    }

    /// How many codes a set holds.
    public static let count = 10

    /// The code of `codes` that `typed` is, at the cost of one yescrypt hash (a dummy with
    /// `dummySetting` when no code's tag matches): the tag picks the one hash a try costs.
    public static func matching(_ typed: SecretBytes, in codes: [TotpRecoveryCode], dummySetting: String) -> Int? {
        let code = RecoveryCode.normalize(typed)
        let tag = tag(of: code)
        let candidates = codes.indices.filter { codes[$0].tag == tag }
        if candidates.isEmpty { _ = Yescrypt.verify(code, against: nil, dummySetting: dummySetting) }
        return candidates.first { Yescrypt.verify(code, against: codes[$0].hash, dummySetting: dummySetting) }
    }
    /// How many leading characters of a (normalized) code are its tag.
    public static let tagLength = 4

    /// The tag of a code as `RecoveryCode.normalize` gives it.
    public static func tag(of normalized: SecretBytes) -> String {
        normalized.withBytes { String(decoding: $0.prefix(tagLength), as: UTF8.self) }
    }
}

/// What the module writes after a code is accepted: the last step used (no code of it or an
/// earlier step is accepted again), when, and which recovery codes are spent.
public struct TotpState: Equatable, Sendable {
    public var keyID: String
    public var lastStep: Int64 = -1
    public var lastUsed: Int64 = 0
    public var codesID = ""
    public var spent: UInt32 = 0

    public init(keyID: String, lastStep: Int64 = -1, lastUsed: Int64 = 0, codesID: String = "", spent: UInt32 = 0) {
        self.keyID = keyID
        self.lastStep = lastStep
        self.lastUsed = lastUsed
        self.codesID = codesID
        self.spent = spent
    }

    /// The state that applies to `enrolment`: a fresh one for another key, no spent marks for
    /// another set of codes.
    public func applying(to enrolment: TotpEnrolment) -> TotpState {
        guard keyID == enrolment.keyID else { return TotpState(keyID: enrolment.keyID, codesID: enrolment.codesID) }
        guard codesID == enrolment.codesID else { return TotpState(keyID: keyID, lastStep: lastStep, lastUsed: lastUsed, codesID: enrolment.codesID) }
        return self
    }

    /// Recovery codes of the set not yet spent.
    public func codesLeft(of enrolment: TotpEnrolment) -> Int {
        let s = applying(to: enrolment)
        return enrolment.codes.indices.filter { s.spent & (1 << UInt32($0)) == 0 }.count
    }
}

/// The second factors of a directory, beside it and apart from the tallies:
/// `users.totp/LOGIN` (the enrolment: key and recovery hashes; written by the command only) and
/// `users.totp-state/LOGIN` (written by the module at each accepted code). Both folders root's
/// 0700, files root's 0600, each written whole (temp file, fsync, rename): a failed state write
/// (a full disk) leaves the old state and never touches the key. Never in the user's home.
public struct TotpFolder: Sendable {
    public let secrets: String
    public let states: String

    public init(directoryPath: String) {
        secrets = directoryPath + ".totp"
        states = directoryPath + ".totp-state"
    }

    public func secretPath(_ login: String) -> String { secrets + "/" + login }
    public func statePath(_ login: String) -> String { states + "/" + login }

    /// True when `login` has a second factor (or its file cannot be looked at: the login then
    /// fails closed at the check).
    public func isEnrolled(_ login: String) -> Bool {
        do { return try Sys.lstatIfExists(secretPath(login)) != nil } catch { return true }
    }

    public func read(_ login: String) throws(PwdirError) -> TotpEnrolment? {
        let path = secretPath(login)
        guard let (fd, st) = try FileSafety.openChecked(path) else { return nil }
        defer { Sys.close(fd) }
        if st.st_mode & 0o077 != 0 { throw .unsafeFile(path: path, reason: "others may read this TOTP key; run chmod 600 on it, or remove it with 'pwdir totp remove \(login)'") }
        var bytes: [UInt8]
        do { bytes = try Sys.readAll(fd, path, sizeHint: Int(st.st_size)) } catch { throw .system(error) }
        defer { for i in bytes.indices { bytes[i] = 0 } }
        do throws(TotpCodec.Damage) { return try TotpCodec.decodeEnrolment(bytes) } catch {
            throw .unsafeFile(path: path, reason: "it is damaged (\(error.reason)); remove the second factor with 'pwdir totp remove \(login)' and enrol again")
        }
    }

    /// The state for `enrolment` (a fresh one when there is none or it was for another key).
    public func state(_ login: String, for enrolment: TotpEnrolment) throws(PwdirError) -> TotpState {
        let path = statePath(login)
        guard let bytes = try FileSafety.read(path) else { return TotpState(keyID: enrolment.keyID, codesID: enrolment.codesID) }
        do throws(TotpCodec.Damage) { return try TotpCodec.decodeState(bytes).applying(to: enrolment) } catch {
            throw .unsafeFile(path: path, reason: "it is damaged (\(error.reason)); enrol the user again ('pwdir totp remove \(login)', then 'pwdir totp enroll \(login)'): deleting this file alone would make used codes valid again")
        }
    }

    /// Writes the enrolment whole. The caller holds `withLock`.
    public func write(_ login: String, _ enrolment: TotpEnrolment) throws(PwdirError) {
        try ensure(secrets)
        var bytes = TotpCodec.encode(enrolment)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        try AtomicFile.replace(secretPath(login), with: bytes, original: nil, backup: nil)
    }

    /// Writes the state whole; the caller holds the account's tally lock.
    public func writeState(_ login: String, _ state: TotpState) throws(PwdirError) {
        try ensure(states)
        try AtomicFile.replace(statePath(login), with: TotpCodec.encode(state), original: nil, backup: nil)
    }

    /// Removes both files of `login`; false when there was no enrolment.
    @discardableResult
    public func remove(_ login: String) throws(PwdirError) -> Bool {
        do {
            let had = try Sys.lstatIfExists(secretPath(login)) != nil
            try Sys.unlinkIfExists(secretPath(login))
            try Sys.unlinkIfExists(statePath(login))
            if had { try? Sys.fsyncFolder(of: secretPath(login)) }
            return had
        } catch { throw .system(error) }
    }

    /// Runs `body` holding the enrolments' lock (`users.totp/.lock`): two commands changing one
    /// user's second factor do not lose each other's change.
    public func withLock<T>(_ body: () throws(PwdirError) -> T) throws(PwdirError) -> T {
        try ensure(secrets)
        return try AtomicFile.withLock(secrets + "/.lock", target: secrets, timeoutMilliseconds: 10_000, body)
    }

    private func ensure(_ folder: String) throws(PwdirError) {
        try FileSafety.ensureFolder(folder, others: 0o077, advice: "others may read or write it; run chmod 700 on it")
    }
}

/// The text of the two files: a version line, then `key value` lines in a fixed order; read
/// strictly (anything else is damage, and damage fails the login closed).
public enum TotpCodec {
    public struct Damage: Error {
        public let reason: String
    }

    public static func encode(_ e: TotpEnrolment) -> [UInt8] {
        var out = Array("pwdir-totp 1\nsecret ".utf8)
        out.reserveCapacity(1200)
        out += Base32.encode(e.key)
        out += Array("\nkey \(e.keyID)\ncreated \(e.created)\ncodes \(e.codesID.isEmpty ? "-" : e.codesID)\n".utf8)
        for c in e.codes { out += Array("code \(c.tag) \(c.hash)\n".utf8) }
        return out
    }

    public static func encode(_ s: TotpState) -> [UInt8] {
        Array("pwdir-totp-state 1\nkey \(s.keyID)\nlast_step \(s.lastStep)\nlast_used \(s.lastUsed)\ncodes \(s.codesID.isEmpty ? "-" : s.codesID)\nspent \(s.spent)\n".utf8)
    }

    /// The lines of a file as (key, value) byte slices.
    private static func fields(_ bytes: [UInt8], version: String) throws(Damage) -> [(String, ArraySlice<UInt8>)] {
        guard bytes.last == 0x0A else { throw Damage(reason: "it does not end with a whole line") }
        var lines = bytes.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false)
        guard let first = lines.first, String(decoding: first, as: UTF8.self) == version else { throw Damage(reason: "it does not start with '\(version)'") }
        lines.removeFirst()
        var out: [(String, ArraySlice<UInt8>)] = []
        for line in lines {
            guard let space = line.firstIndex(of: 0x20) else { throw Damage(reason: "a line has no value") }
            out.append((String(decoding: line[..<space], as: UTF8.self), line[(space + 1)...]))
        }
        return out
    }

    private static func text(_ v: ArraySlice<UInt8>) -> String { String(decoding: v, as: UTF8.self) }

    private static func id(_ v: ArraySlice<UInt8>, _ what: String) throws(Damage) -> String {
        let t = text(v)
        guard t == "-" || (t.utf8.count == 16 && t.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })) else {
            throw Damage(reason: "\(what) is not 16 hex digits")
        }
        return t == "-" ? "" : t
    }

    private static func number(_ v: ArraySlice<UInt8>, _ what: String, _ range: ClosedRange<Int64>) throws(Damage) -> Int64 {
        guard let n = Int64(text(v)), range.contains(n) else { throw Damage(reason: "\(what) is not a number in range") }
        return n
    }

    public static func decodeEnrolment(_ bytes: [UInt8]) throws(Damage) -> TotpEnrolment {
        let f = try fields(bytes, version: "pwdir-totp 1")
        guard f.count >= 4, f[0].0 == "secret", f[1].0 == "key", f[2].0 == "created", f[3].0 == "codes" else {
            throw Damage(reason: "its lines are not secret, key, created, codes")
        }
        guard let key = Base32.decode(f[0].1), key.count >= 10, key.count <= 64 else { throw Damage(reason: "the secret is not base32 of 10 to 64 bytes") }
        let keyID = try id(f[1].1, "key")
        guard !keyID.isEmpty else { throw Damage(reason: "key is missing") }
        let created = try number(f[2].1, "created", 0...Int64(Int32.max) * 8)
        let codesID = try id(f[3].1, "codes")
        var codes: [TotpRecoveryCode] = []
        for (k, v) in f.dropFirst(4) {
            let parts = v.split(separator: 0x20, omittingEmptySubsequences: false)
            guard k == "code", parts.count == 2, parts[0].count == TotpRecoveryCode.tagLength,
                  parts[0].allSatisfy({ RecoveryCode.alphabet.contains($0) }), Yescrypt.isWellFormed(text(parts[1])) else {
                throw Damage(reason: "a recovery code line is not 'code TAG HASH'")
            }
            codes.append(TotpRecoveryCode(tag: text(parts[0]), hash: text(parts[1])))
        }
        guard codes.count <= 32, codesID.isEmpty == codes.isEmpty else { throw Damage(reason: "the recovery codes do not match their set") }
        return TotpEnrolment(key: key, keyID: keyID, created: created, codesID: codesID, codes: codes)
    }

    public static func decodeState(_ bytes: [UInt8]) throws(Damage) -> TotpState {
        let f = try fields(bytes, version: "pwdir-totp-state 1")
        guard f.map({ $0.0 }) == ["key", "last_step", "last_used", "codes", "spent"] else {
            throw Damage(reason: "its lines are not key, last_step, last_used, codes, spent")
        }
        let keyID = try id(f[0].1, "key")
        let lastStep = try number(f[1].1, "last_step", -1...Int64.max / Totp.period)
        let lastUsed = try number(f[2].1, "last_used", 0...Int64.max)
        let codesID = try id(f[3].1, "codes")
        let spent = try number(f[4].1, "spent", 0...Int64(UInt32.max))
        return TotpState(keyID: keyID, lastStep: lastStep, lastUsed: lastUsed, codesID: codesID, spent: UInt32(spent))
    }

    /// 16 random hex digits.
    public static func newID() throws(PwdirError) -> String {
        let hex = Array("0123456789abcdef".utf8)
        return String(decoding: try randomBytes(8).flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0xF)]] }, as: UTF8.self)
    }
}
