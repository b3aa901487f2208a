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
    /// With a second factor (`totp` not off and the user enrolled), the code is asked after the
    /// password whatever the password's verdict, and the login is counted once, after the code:
    /// nothing (prompts, words, results, failures counted, work done) tells a right password
    /// from a wrong one until both are right.
    public func check(_ user: String, _ typed: SecretBytes, settings: Settings) -> ModuleResult {
        if withoutRoot { return askChecker("auth", user, password: typed) }
        let enrolled = settings.totp != .off && store.hasSecondFactor(user)
        let deferred = enrolled || settings.totp == .required
        // password + code in one answer; the password is cut off for an enrolled user only.
        let split = settings.totp != .off && options.codeInPassword ? Self.splitCode(typed) : nil
        let password = enrolled ? split?.0 ?? typed : typed
        let code = split?.1
        if enrolled, let split { host.authToken = split.0 }  // the modules below see the password alone
        let outcome = store.authenticate(user, password: password, settings: settings, now: now, settling: deferred ? .deferred : .login)
        if case let .success(record) = outcome { keepProven(password, for: record, settings: settings) }
        // The password's verdict, when it is left to the code's step.
        var matched: Bool?
        if deferred {
            switch outcome {
            case .success: matched = true
            case .wrongPassword, .noPassword: matched = false
            default: matched = nil
            }
        }
        if let matched {
            if enrolled { return secondFactor(user, code: code, passwordMatched: matched, noPassword: outcome == .noPassword(lock: nil), settings: settings) }
            // totp = required and none: the same refusal whatever the password, nothing counted.
            host.log(.notice, "authentication refused for \(user): totp = required and the account has no second factor")
            audit(settings, "login", target: user, result: "refused", detail: "no second factor (totp = required)")
            host.tell(Self.secondFactorRequiredMessage, isError: true)
            return .permissionDenied
        }
        if settings.totp != .off && outcome == .unknownUser {
            // A name that is not an account is asked the code too, and costs the same work.
            let answer = code ?? host.askSecret(Self.verificationPrompt) ?? SecretBytes([])
            _ = store.verifySecondFactor(user, code: answer, passwordMatched: false, settings: settings, now: now)
        }
        return result(of: outcome, user: user, settings: settings)
    }

    /// The code of a user with a second factor (given after the password, else asked), checked
    /// and counted with the password's verdict as one login.
    func secondFactor(_ user: String, code: SecretBytes?, passwordMatched: Bool, noPassword: Bool, settings: Settings) -> ModuleResult {
        let typed = code ?? host.askSecret(Self.verificationPrompt)
        // No answer (a hang-up, a client that cannot ask) is a wrong code: counted the same.
        let outcome = store.verifySecondFactor(user, code: typed ?? SecretBytes([]), passwordMatched: passwordMatched, settings: settings, now: now)
        switch outcome {
        case let .success(record, left):
            if let left {
                host.log(.notice, "\(user) logged in with a recovery code of their second factor (\(left) left)")
                audit(settings, "totp recovery code", target: user, result: "ok", detail: "used at login, \(left) left")
                if !options.silent { host.tell(Self.recoveryCodesLeftMessage(left), isError: left < 3) }
            }
            return succeeded(user, record)
        case let .wrongCode(lock, replay):
            let why = !passwordMatched ? (noPassword ? "no password set" : "wrong password")
                : typed == nil ? "no verification code given" : replay ? "verification code already used" : "wrong verification code"
            host.log(.notice, "authentication failure for \(user)" + (why == "wrong password" ? "" : ": \(why)"))
            audit(settings, "login", target: user, result: "failed", detail: why)
            if let lock { recordLock(user, lock, settings: settings) }
            return typed == nil ? .conversationError : .authError
        case .notEnrolled:
            // Removed while the user typed: the password alone was not asked for.
            host.log(.notice, "authentication failure for \(user): the second factor was removed during the login")
            return .authError
        case let .refused(outcome):
            return result(of: outcome, user: user, settings: settings)
        }
    }

    /// Splits `password` + six digits; nil when the answer does not end with them.
    static func splitCode(_ typed: SecretBytes) -> (SecretBytes, SecretBytes)? {
        typed.withBytes { b -> (SecretBytes, SecretBytes)? in
            guard b.count > Totp.digits, b.suffix(Totp.digits).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            let cut = b.count - Totp.digits
            return (SecretBytes(copying: b.baseAddress, count: cut), SecretBytes(copying: b.baseAddress! + cut, count: Totp.digits))
        }
    }

    func succeeded(_ user: String, _ record: UserRecord) -> ModuleResult {
        host.authenticatedUser = user
        keepForAccountCheck(record)
        if options.debug { host.log(.debug, "authenticated \(user)") }
        return .success
    }

    /// A check that did not succeed: the result, a log line, an audit line and what the user is told.
    func result(of outcome: AuthenticationOutcome, user: String, settings: Settings) -> ModuleResult {
        switch outcome {
        case let .success(record):
            return succeeded(user, record)
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
