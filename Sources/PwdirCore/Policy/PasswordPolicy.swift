/// The checks a new password must pass.
public struct PasswordPolicy: Sendable {
    public var minlen: Int

    public init(settings: Settings) {
        minlen = settings.minlen
    }

    /// Throws `.weakPassword` (or `.passwordTooLong`) with the reason, in one line.
    public func check(_ password: SecretBytes) throws(PwdirError) {
        if password.count > Yescrypt.maxPasswordBytes { throw .passwordTooLong(max: Yescrypt.maxPasswordBytes) }
        if password.containsNUL { throw .weakPassword("it contains a NUL byte") }
        if password.isEmpty { throw .weakPassword("it is empty") }
        // characters = bytes that do not continue a UTF-8 sequence (no String copy of the secret)
        let characters = password.withBytes { $0.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
        if characters < minlen { throw .weakPassword("it is shorter than \(minlen) characters") }
    }
}

extension PasswordPolicy {
    /// Every check a new password passes: length and form, libpwquality (with the current
    /// password for difok when known), and, for an existing record, neither the current
    /// password nor one of the last `remember` (checked by hashing with each stored salt).
    public func check(_ new: SecretBytes, user: String, old: SecretBytes?, record: UserRecord?, settings: Settings) throws(PwdirError) {
        try check(new)
        try PasswordQuality.check(new, old: old, user: user, settings: settings)
        guard let record else { return }
        if let current = record.passwordHash, Self.matches(new, current) {
            throw .weakPassword("it is the same as the current password")
        }
        if settings.remember > 0, record.historyHashes.suffix(settings.remember).contains(where: { Self.matches(new, $0) }) {
            throw .weakPassword("it was used recently (the last \(settings.remember) passwords may not be reused)")
        }
    }

    static func matches(_ password: SecretBytes, _ hash: String) -> Bool {
        guard Yescrypt.isWellFormed(hash), let h = try? Yescrypt.hash(password, setting: hash) else { return false }
        return constantTimeEqual(h, hash)
    }
}
