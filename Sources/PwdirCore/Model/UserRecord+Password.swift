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

/// What setting a password and unlocking do to a record, whatever store keeps it (the store
/// writes the record, and what it keeps apart: a tally file, or the server's own attributes).
extension UserRecord {
    /// Sets `hash` as the password `setter` chose; `before` is the account's failures as read
    /// first. `remember`: the history pwdir keeps itself (nil: the store's server keeps it).
    public mutating func applyPassword(hash: String, by setter: PasswordSetter, before: Tally?, settings: Settings, now: Int64,
                                       remember: Int?) throws(PwdirError) -> PasswordReport {
        var report = PasswordReport()
        switch setter {
        case .user:
            // Locked by an administrator while the user typed: nothing is stored.
            if isAdminLocked { throw .lockedMeanwhile(login) }
            let state = AccountState(record: self, tally: Tally(), settings: settings, now: now)
            report.forcedChangeDone = mustChangePassword || state.passwordExpired
            setPassword(hash: hash, now: now, mustChange: false, remember: remember)
        case let .administrator(mustChange, weak):
            setPassword(hash: hash, now: now, mustChange: mustChange, temporary: mustChange, remember: remember)
            if weak { self[Key.policyOverride] = GeneralizedTime.format(now) }
            // A new password from an administrator lifts a lock from failed logins (the seeds:
            // "only the administrator can unlock it by generating a temporary password"); their
            // own lock stays until 'pwdir unlock'.
            let lockout = Lockout(settings: settings)
            if let before, lockout.isLocked(lockout.normalized(before, now: now, generation: resetGeneration), now: now) {
                report.liftedFailureLock = true
            }
            resetFailures(now: now, above: before?.generation ?? 0)
            report.stillLockedByAdministrator = isAdminLocked
        }
        return report
    }

    /// Lifts an administrator's lock and makes every failure so far stop counting; `reading` is
    /// the account's failures as read first, for the report.
    public mutating func applyUnlock(reading: TallyReading, settings: Settings, now: Int64) -> UnlockReport {
        var report = UnlockReport()
        if isAdminLocked {
            report.wasAdministratorLocked = true
            report.administratorLockBy = self[Key.lockedBy]
        }
        let lockout = Lockout(settings: settings)
        if let t = reading.tally {
            let current = lockout.normalized(t, now: now, generation: resetGeneration)
            if lockout.isLocked(current, now: now) { report.failureLock = current.failures.count }
            else { report.failuresCleared = lockout.countingFailures(current, now: now) }
        } else if case .damaged = reading {
            report.tallyWasDamaged = true
        }
        self[Key.lockedTime] = nil
        self[Key.lockedBy] = nil
        self[Key.lockedSince] = nil
        resetFailures(now: now, above: reading.tally?.generation ?? 0)
        return report
    }
}
