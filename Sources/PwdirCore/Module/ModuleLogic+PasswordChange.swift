/// pam_sm_chauthtok: PAM_PRELIM_CHECK proves the current password (unless root changes it, or
/// the user just authenticated through this handle for an expired password); PAM_UPDATE_AUTHTOK
/// asks the new one twice (or takes it from a module above), applies the policy and stores it.
/// For a user pwdir does not know, it collects the new password for the module below (as
/// pam_pwquality does) and answers PAM_IGNORE, so pam_unix with use_authtok keeps working.
extension ModuleLogic {
    public func prepareChange(user: String, changeExpired: Bool) -> ModuleResult {
        guard let settings = loadSettings() else {
            let result = unavailable(nil, user: user)
            return result == .userUnknown ? .ignore : result
        }
        let record: UserRecord
        do {
            guard let found = try store.record(user) else { return .ignore }
            record = found
        } catch {
            let result = unavailable(error, user: user)
            return result == .userUnknown ? .ignore : result
        }
        if record.isAdminLocked {
            if !options.silent { host.tell(Self.lockedMessage, isError: true) }
            return .permissionDenied
        }
        if !needsCurrentPassword(user: user, changeExpired: changeExpired) { return .success }
        // Locked after failed logins: not even asked.
        var damage: String?
        if case let .damaged(why) = store.tally(user) { damage = why }
        let state = AccountState(record: record, tally: store.tally(user).tally, tallyDamage: damage, settings: settings, now: now)
        if state.lockReason == .failures || state.lockReason == .damagedTally {
            if !options.silent { host.tell(Self.lockedMessage(until: state.lockedUntil), isError: true) }
            return .maxTries
        }
        let current: SecretBytes
        if options.useFirstPass || options.tryFirstPass, let token = host.oldAuthToken {
            current = token
        } else {
            guard let answer = host.askSecret("Current password: ") else { return .conversationError }
            current = answer
        }
        return verifyCurrent(user, current, settings: settings)
    }

    public func updatePassword(user: String, changeExpired: Bool) -> ModuleResult {
        guard let settings = loadSettings() else {
            let result = unavailable(nil, user: user)
            return result == .userUnknown ? collectForTheModuleBelow() : result
        }
        let record: UserRecord
        do {
            guard let found = try store.record(user) else { return collectForTheModuleBelow() }
            record = found
        } catch {
            let result = unavailable(error, user: user)
            return result == .userUnknown ? collectForTheModuleBelow() : result
        }
        if record.isAdminLocked { return .permissionDenied }
        if needsCurrentPassword(user: user, changeExpired: changeExpired) {
            // As pam_unix does: the old password is checked again, not trusted from PRELIM.
            guard let old = host.oldAuthToken else { return .authTokError }
            let r = verifyCurrent(user, old, settings: settings)
            if r != .success { return r }
        }
        guard let new = obtainNewPassword() else { return options.useAuthtok ? .authTokError : .conversationError }
        guard let new = new else { return .authTokError }
        // A store that never shows pwdir the hash (LDAP): the change this login made due is
        // checked against the password the login proved (see `keepProven`).
        var checked = record
        if changeExpired && host.authenticatedUser == user, checked.passwordHash == UserRecord.heldHash,
           let kept = host.kept(Self.provenKey) {
            checked.passwordHash = String(decoding: kept, as: UTF8.self)
        }
        do {
            try PasswordPolicy(settings: settings).check(new, user: user, old: host.oldAuthToken, record: checked, settings: settings)
        } catch {
            switch error {
            case .weakPassword, .passwordTooLong:
                host.tell("Password refused: \(error.reasonForUser).", isError: true)
            default:  // the checks could not run (a missing dictionary): the host's problem
                host.log(.err, "cannot check the new password of \(user): \(error.message)")
                host.tell("Your password could not be changed (\(error.reasonForUser)).", isError: true)
            }
            return .authTokError
        }
        let id = AuditLog.newID()
        audit(settings, "password change", target: user, result: "pending", id: id)
        let report: PasswordReport
        do {
            report = try store.setPassword(user, to: new, by: .user, settings: settings, now: now)
        } catch {
            host.log(.err, "cannot store the new password of \(user): \(error.message)")
            audit(settings, "password change", target: user, result: "failed", detail: error.message, id: id)
            host.tell("Your password could not be changed (\(error.reasonForUser)). Try again later.", isError: true)
            return .authTokError
        }
        host.authToken = new
        host.log(.notice, "password changed for \(user)")
        audit(settings, "password change", target: user, result: "ok", detail: report.forcedChangeDone ? "forced change done" : "changed by the user", id: id)
        return .success
    }

    /// The new password: from a module above with use_authtok, else asked twice. nil: the
    /// conversation failed (or use_authtok had no token); .some(nil): the two did not match.
    private func obtainNewPassword() -> SecretBytes?? {
        if options.useAuthtok {
            guard let token = host.authToken else {
                host.log(.err, "use_authtok given but no new password was entered by a module above")
                return nil
            }
            return .some(token)
        }
        guard let first = host.askSecret("New password: "), let second = host.askSecret("Retype new password: ") else { return nil }
        guard first.constantTimeEquals(second) else {
            host.tell(Self.mismatchMessage, isError: true)
            return .some(nil)
        }
        return .some(first)
    }

    /// For a user pwdir does not know: the new password asked twice and left as PAM_AUTHTOK for
    /// the module below (pam_unix with use_authtok); PAM_IGNORE. With use_authtok the token from
    /// above simply goes on down.
    private func collectForTheModuleBelow() -> ModuleResult {
        if options.useAuthtok { return .ignore }
        guard let new = obtainNewPassword() else { return .conversationError }
        guard let new = new else { return .authTokError }
        host.authToken = new
        return .ignore
    }

    private func needsCurrentPassword(user: String, changeExpired: Bool) -> Bool {
        if host.callerIsRoot && !changeExpired { return false }
        if changeExpired && host.authenticatedUser == user { return false }
        return true
    }

    /// The current password, checked (and counted) like a login.
    private func verifyCurrent(_ user: String, _ current: SecretBytes, settings: Settings) -> ModuleResult {
        // The password alone is not a whole login for a user with a second factor: it clears no failures.
        let enrolled = settings.totp != .off && store.hasSecondFactor(user)
        let outcome = store.authenticate(user, password: current, settings: settings, now: now, settling: enrolled ? .keepingFailures : .login)
        switch outcome {
        case .success:
            host.oldAuthToken = current
            return .success
        case let .wrongPassword(lock), let .noPassword(lock):
            host.log(.notice, "password change refused for \(user): wrong current password")
            audit(settings, "password change", target: user, result: "refused", detail: "wrong current password")
            if let lock { recordLock(user, lock, settings: settings) }
            host.tell(Self.wrongCurrentMessage, isError: true)
            return .authError
        case let .locked(reason, until):
            if !options.silent { host.tell(reason == .administrator ? Self.lockedMessage : Self.lockedMessage(until: until), isError: true) }
            return reason == .administrator ? .permissionDenied : .maxTries
        case .damagedTally:
            if !options.silent { host.tell(Self.lockedMessage, isError: true) }
            return .maxTries
        case .temporaryPasswordExpired:
            host.tell(Self.temporaryExpiredMessage, isError: true)
            return .authError
        case .tooManyInFlight, .attemptExpired:
            if !options.silent { host.tell(Self.tooManyAttemptsMessage, isError: true) }
            return .authError
        case .unknownUser:
            return .userUnknown
        case let .unavailable(error):
            return unavailable(error, user: user)
        }
    }
}

extension ModuleLogic {
    static let provenKey = "pam_pwdir_proven"

    /// After a login whose password must now be changed, on a store that never shows pwdir the
    /// hash (LDAP: the record holds `UserRecord.heldHash`), a hash of the password the login
    /// proved is kept in the handle, so that the forced change, which asks no current
    /// password, can refuse it as the new one (one more hash, for those logins only).
    func keepProven(_ password: SecretBytes, for record: UserRecord, settings: Settings) {
        guard record.mustChangePassword, record.passwordHash == UserRecord.heldHash,
              let hash = try? Yescrypt.hashNew(password, cost: settings.yescryptCost) else { return }
        host.keep(Self.provenKey, Array(hash.utf8))
    }
}
