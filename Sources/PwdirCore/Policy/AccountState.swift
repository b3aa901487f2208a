/// Password history, expiry and the account's state as a whole: what stands between a user
/// and a login, since when and until when.

extension UserRecord.Key {
    /// TRUE: the password was set by an administrator for a first login (temp_ttl applies).
    public static let temporary = "pwdirTemporary"
    /// Who locked the account by hand, and when (GeneralizedTime).
    public static let lockedBy = "pwdirLockedBy"
    public static let lockedSince = "pwdirLockedSince"
    /// When an administrator set a password that fails the policy (--allow-weak).
    public static let policyOverride = "pwdirPolicyOverride"
}

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

/// Why an account cannot be used.
public enum LockReason: String, Sendable, Codable {
    /// `pwdir lock` (or the equivalent attribute).
    case administrator
    /// `deny` failed logins.
    case failures
    /// A temporary password nobody used within temp_ttl.
    case temporaryPasswordExpired = "temporary-password-expired"
    /// No password was ever set.
    case noPassword = "no-password"
}

/// The whole state of one account at one moment.
public struct AccountState: Sendable {
    public var lockReason: LockReason?
    public var lockedSince: Int64?
    /// When the lock lifts by itself (nil: only an administrator lifts it).
    public var lockedUntil: Int64?
    public var lockedBy: String?
    public var failures: Int
    public var lastFailure: Int64?
    public var mustChange: Bool
    public var passwordChanged: Int64?
    /// When the password expires (maxage), if it does.
    public var passwordExpires: Int64?
    public var passwordExpired: Bool
    /// When a temporary password stops working, if it is one.
    public var temporaryExpires: Int64?

    public var usable: Bool { lockReason == nil }

    public init(record: UserRecord, tally: FailureTally, settings: Settings, now: Int64) {
        let lockout = Lockout(settings: settings)
        failures = lockout.countingFailures(tally, now: now)
        lastFailure = tally.failures.last
        mustChange = record.mustChangePassword
        passwordChanged = record.passwordChangedTime
        passwordExpires = nil
        passwordExpired = false
        temporaryExpires = nil
        if let changed = passwordChanged, record.hasPassword {
            if record.isTemporaryPassword {
                if settings.tempTTL > 0 { temporaryExpires = changed + settings.tempTTL }
            } else if settings.maxage > 0 {
                passwordExpires = changed + Int64(settings.maxage) * 86400
                passwordExpired = now >= passwordExpires!
            }
        }
        if record.isAdminLocked {
            lockReason = .administrator
            lockedSince = record[UserRecord.Key.lockedSince].flatMap(GeneralizedTime.parse)
            lockedBy = record[UserRecord.Key.lockedBy]
        } else if lockout.isLocked(tally, now: now) {
            lockReason = .failures
            lockedSince = tally.lockedTime
            lockedUntil = lockout.lockedUntil(tally)
        } else if !record.hasPassword {
            lockReason = .noPassword
        } else if let t = temporaryExpires, now >= t {
            lockReason = .temporaryPasswordExpired
            lockedSince = t
        }
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
