/// Password history and the password attributes of a record.
extension UserRecord {
    /// OID of the octet-string syntax, as draft-behera's pwdHistory values name it.
    static let historySyntax = "1.3.6.1.4.1.1466.115.121.1.40"

    /// Hashes in pwdHistory, newest last. Values are `TIME#SYNTAX#LENGTH#{CRYPT}HASH`.
    public var historyHashes: [String] {
        values(Key.history).compactMap { value in
            let parts = value.split(separator: "#", maxSplits: 3, omittingEmptySubsequences: false)
            guard parts.count == 4, parts[3].hasPrefix(Self.cryptPrefix) else { return nil }
            return String(parts[3].dropFirst(Self.cryptPrefix.count))
        }
    }

    public var isTemporaryPassword: Bool { self[Key.temporary] == "TRUE" }

    /// Stores a new password hash and its time. The previous hash goes into pwdHistory, which
    /// keeps the last `remember` (nil: history untouched). `mustChange` marks an
    /// administrator-set password; `temporary` one that temp_ttl limits.
    public mutating func setPassword(hash: String, now: Int64, mustChange: Bool, temporary: Bool = false, remember: Int? = nil) {
        if let remember {
            var history = values(Key.history)
            if let old = passwordHash, Yescrypt.isWellFormed(old) {
                let data = Self.cryptPrefix + old
                history.append("\(GeneralizedTime.format(now))#\(Self.historySyntax)#\(data.utf8.count)#\(data)")
            }
            setValues(Key.history, Array(history.suffix(max(remember, 0))))
        }
        passwordHash = hash
        self[Key.passwordChanged] = GeneralizedTime.format(now)
        mustChangePassword = mustChange
        self[Key.temporary] = temporary ? "TRUE" : nil
        self[Key.policyOverride] = nil
    }
}
