/// pam_sm_authenticate: the password (asked once it is needed, or taken from a module above),
/// then one check through the store, which counts the attempt; every outcome logged, audited
/// and, where it helps the user, told.
extension ModuleLogic {
    public func authenticate(user: String) -> ModuleResult {
        // Without root the helper reads the settings and the accounts: nothing to load here.
        let settings = withoutRoot ? nil : loadSettings()
        if !withoutRoot && settings == nil { return unavailable(nil, user: user) }
        // The password first: everything about the account is read afterwards, so a reset, a
        // lock or failures made while the user typed all count.
        guard let (password, asked) = obtainPassword() else {
            return options.useFirstPass ? .authError : .conversationError
        }
        guard let settings else { return askChecker("auth", user, password: password) }
        if asked && password.isEmpty && settings.recovery && !withoutRoot {
            return recover(user: user, settings: settings)
        }
        let first = check(user, password, settings: settings)
        // try_first_pass: a token from above that fails is followed by our own prompt.
        if first == .authError && options.tryFirstPass && !asked, let typed = host.askSecret("Password: ") {
            host.authToken = typed
            return check(user, typed, settings: settings)
        }
        return first
    }

    /// The password for authenticate: PAM_AUTHTOK with use_first_pass / try_first_pass, else
    /// asked. An asked password is stored as PAM_AUTHTOK for the modules stacked below.
    private func obtainPassword() -> (SecretBytes, asked: Bool)? {
        if options.useFirstPass || options.tryFirstPass, let token = host.authToken { return (token, false) }
        if options.useFirstPass {
            host.log(.err, "use_first_pass given but no password was entered by a module above")
            return nil
        }
        guard let answer = host.askSecret("Password: ") else { return nil }
        host.authToken = answer
        return (answer, true)
    }

    /// One password check; maps the store's outcome to a result, a log line, an audit line and
    /// what the user is told.
    public func check(_ user: String, _ password: SecretBytes, settings: Settings) -> ModuleResult {
        if withoutRoot { return askChecker("auth", user, password: password) }
        let outcome = store.authenticate(user, password: password, settings: settings, now: now)
        switch outcome {
        case let .success(record):
            host.authenticatedUser = user
            keepForAccountCheck(record)
            if options.debug { host.log(.debug, "authenticated \(user)") }
            return .success
        case let .wrongPassword(lock), let .noPassword(lock):
            let why = outcome == .wrongPassword(lock: lock) ? "wrong password" : "no password set"
            host.log(.notice, "authentication failure for \(user)" + (why == "wrong password" ? "" : ": \(why)"))
            audit(settings, "login", target: user, result: "failed", detail: why)
            if let lock { recordLock(user, lock, settings: settings) }
            return .authError
        case .unknownUser:
            // The name is not logged: it may be a password typed in the login field.
            host.log(.notice, "authentication failure; unknown user")
            audit(settings, "login", target: "(unknown)", result: "failed", detail: "unknown user")
            return .userUnknown
        case let .locked(reason, until):
            host.log(.notice, "authentication refused for \(user): account " + (reason == .administrator ? "locked by an administrator" : "locked after failed logins"))
            audit(settings, "login", target: user, result: "refused", detail: reason == .administrator ? "locked by an administrator" : "locked after failed logins")
            if !options.silent { host.tell(reason == .administrator ? Self.lockedMessage : Self.lockedMessage(until: until), isError: true) }
            return reason == .administrator ? .permissionDenied : .maxTries
        case let .damagedTally(why):
            host.log(.err, "authentication refused for \(user): its failure tally cannot be read safely (\(why)); it counts as locked until 'pwdir unlock \(user)'")
            audit(settings, "login", target: user, result: "refused", detail: "damaged failure tally")
            if !options.silent { host.tell(Self.lockedMessage, isError: true) }
            return .maxTries
        case .temporaryPasswordExpired:
            host.log(.notice, "authentication refused for \(user): temporary password expired unused")
            audit(settings, "login", target: user, result: "refused", detail: "temporary password expired")
            host.tell(Self.temporaryExpiredMessage, isError: true)
            return .authError
        case .tooManyInFlight:
            host.log(.warning, "authentication refused for \(user): as many attempts as deny allows are already under way")
            audit(settings, "login", target: user, result: "refused", detail: "too many attempts under way")
            if !options.silent { host.tell(Self.tooManyAttemptsMessage, isError: true) }
            return .authError
        case .attemptExpired:
            host.log(.warning, "authentication refused for \(user): the attempt was held up so long it was counted as a failure")
            audit(settings, "login", target: user, result: "failed", detail: "attempt held up (process stopped?)")
            return .authError
        case let .unavailable(error):
            return unavailable(error, user: user)
        }
    }

    /// Logs and audits a lock made by the failure just counted.
    func recordLock(_ user: String, _ lock: NewLock, settings: Settings) {
        let until = lock.until.map { " until \(GeneralizedTime.readable($0))" } ?? " until an administrator unlocks it"
        host.log(.warning, "account \(user) locked after \(lock.failures) failed logins\(until)")
        audit(settings, "lock", target: user, result: "ok", detail: "\(lock.failures) failed logins\(until)")
    }
}
