/// The whole state of one account at one moment: what stands between the user and a login,
/// since when and until when. A pure function of the record, the tally, the settings and the
/// time. Times recorded ahead of the clock are suspicious, never a reason for something to stay
/// valid longer: a temporary password or a password changed "in the future" counts as expired.
public struct AccountState: Sendable {
    public var lockReason: LockReason?
    public var lockedSince: Int64?
    /// When the lock lifts by itself (nil: only an administrator lifts it).
    public var lockedUntil: Int64?
    public var lockedBy: String?
    /// Why the tally cannot be read, when it cannot.
    public var tallyDamage: String?
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

    /// `tally` is the account's tally as read, or nil with `tallyDamage` saying why it could not
    /// be read (the account then counts as locked).
    public init(record: UserRecord, tally: Tally?, tallyDamage: String? = nil, settings: Settings, now: Int64) {
        let lockout = Lockout(settings: settings)
        let t = lockout.normalized(tally ?? Tally(), now: now, generation: record.resetGeneration)
        failures = lockout.countingFailures(t, now: now)
        lastFailure = t.failures.last
        self.tallyDamage = tally == nil ? (tallyDamage ?? "unreadable") : nil
        mustChange = record.mustChangePassword
        passwordChanged = record.passwordChangedTime
        passwordExpires = nil
        passwordExpired = false
        temporaryExpires = nil
        if let changed = passwordChanged, record.hasPassword {
            let fromTheFuture = changed > now
            if record.isTemporaryPassword {
                if settings.tempTTL > 0 { temporaryExpires = fromTheFuture ? now : changed &+ settings.tempTTL }
            } else if settings.maxage > 0 {
                let expires = fromTheFuture ? now : changed &+ Int64(settings.maxage) &* 86400
                passwordExpires = expires
                passwordExpired = now >= expires
            }
        }
        if record.isAdminLocked {
            lockReason = .administrator
            lockedSince = record[UserRecord.Key.lockedSince].flatMap(GeneralizedTime.parse)
            lockedBy = record[UserRecord.Key.lockedBy]
        } else if tally == nil {
            lockReason = .damagedTally
        } else if lockout.isLocked(t, now: now) {
            lockReason = .failures
            lockedSince = t.lockedTime
            lockedUntil = lockout.lockedUntil(t)
        } else if !record.hasPassword {
            lockReason = .noPassword
        } else if let expires = temporaryExpires, now >= expires {
            lockReason = .temporaryPasswordExpired
            lockedSince = expires
        }
    }
}
