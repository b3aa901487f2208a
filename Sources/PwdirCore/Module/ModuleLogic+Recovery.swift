/// Self-service recovery, started by an empty answer at `Password: ` (recovery = yes). Every
/// login sees the same words and the same timing: the helper is started for every name (it
/// decides, detached, whether a code goes out), the typed code costs one hash and is counted
/// like a password, and the answer comes no sooner than `recoveryAnswerFloor` after the
/// request, so how fast someone types cannot reveal whether a mail is being sent meanwhile.
extension ModuleLogic {
    func recover(user: String, settings: Settings) -> ModuleResult {
        host.tell(Self.recoveryMessage, isError: false)
        let started = monotonicNanoseconds()
        runHelper("recovery-request", user)
        guard let typed = host.askSecret("Recovery code: ") else { return .conversationError }
        let code = RecoveryCode.normalize(typed)
        if code.isEmpty {
            // Giving up costs no try and counts no failure; the same for every login.
            host.tell(Self.recoveryAbandonedMessage, isError: true)
            return .authError
        }
        let outcome = store.claimRecoveryCode(user, code: code, settings: settings, now: now)
        let floor = started + UInt64(max(recoveryAnswerFloorMilliseconds, 0)) * 1_000_000
        let current = monotonicNanoseconds()
        if current < floor { Sys.sleep(milliseconds: Int((floor - current) / 1_000_000)) }

        let claim: RecoveryClaim
        switch outcome {
        case let .claimed(c):
            claim = c
        case .refused, .unknownUser:
            host.log(.notice, "recovery code rejected for \(outcome == .unknownUser ? "an unknown user" : user)")
            audit(settings, "recovery code", target: outcome == .unknownUser ? "(unknown)" : user, result: "refused", detail: "wrong, used up or expired code")
            host.tell(Self.badCodeMessage, isError: true)
            return .authError
        case let .unavailable(error):
            return unavailable(error, user: user)
        }

        // The mailbox alone does not replace a second factor: its code (or one of its recovery
        // codes) is asked too.
        if settings.totp != .off && store.hasSecondFactor(user) {
            guard let typed = host.askSecret(Self.verificationPrompt) else {
                store.releaseRecoveryClaim(user, claim: claim)
                return .conversationError
            }
            let second = store.verifySecondFactor(user, code: typed, passwordMatched: true, settings: settings, now: now)
            guard case .success = second else {
                store.releaseRecoveryClaim(user, claim: claim)
                host.log(.notice, "recovery refused for \(user): wrong, used or unchecked verification code")
                audit(settings, "recovery code", target: user, result: "refused", detail: "second factor not given")
                if case let .wrongCode(lock?, _) = second { recordLock(user, lock, settings: settings) }
                host.tell(Self.recoveryNeedsSecondFactorMessage, isError: true)
                return .authError
            }
        }

        guard let first = host.askSecret("New password: "), let second = host.askSecret("Retype new password: ") else {
            store.releaseRecoveryClaim(user, claim: claim)
            return .conversationError
        }
        guard first.constantTimeEquals(second) else {
            store.releaseRecoveryClaim(user, claim: claim)
            host.tell("Sorry, the passwords do not match; your password was not changed. The code can be used again.", isError: true)
            return .authError
        }
        do {
            let record = try store.record(user)
            try PasswordPolicy(settings: settings).check(first, user: user, old: nil, record: record, settings: settings)
        } catch {
            store.releaseRecoveryClaim(user, claim: claim)
            host.tell("Password refused: \(error.reasonForUser). The code can be used again.", isError: true)
            return .authError
        }
        let id = AuditLog.newID()
        audit(settings, "recovery code", target: user, result: "pending", detail: "used: changing the password", id: id)
        do {
            try store.finishRecovery(user, claim: claim, password: first, settings: settings, now: now)
        } catch {
            host.log(.err, "cannot store the recovered password of \(user): \(error.message)")
            audit(settings, "recovery code", target: user, result: "failed", detail: error.message, id: id)
            host.tell(error == .invalidValue(field: "recovery code", reason: "it is no longer valid") ? Self.badCodeMessage : "Your password was not changed (\(error.reasonForUser)).", isError: true)
            return .authError
        }
        host.log(.notice, "password of \(user) changed with a recovery code")
        audit(settings, "recovery code", target: user, result: "ok", detail: "used: password changed", id: id)
        runHelper("recovery-notice", user)
        if settings.totp == .required && !store.hasSecondFactor(user) {
            host.log(.notice, "authentication refused for \(user) after the recovery: totp = required and the account has no second factor")
            host.tell(Self.secondFactorRequiredMessage, isError: true)
            return .permissionDenied
        }
        host.authToken = first
        host.authenticatedUser = user
        return .success
    }

    /// Starts `pwdir SUBCOMMAND --background` (which detaches and returns at once) with the
    /// login on stdin: no shell, clean environment, bounded time, the host's signals and
    /// descriptors untouched. The binary, and every folder on its path, must be root's and
    /// writable by nobody else; it is run through the descriptor that was checked.
    func runHelper(_ subcommand: String, _ user: String) {
        let path = options.helper ?? Paths.installedHelper("pwdir")
        let executable: TrustedExecutable
        do { executable = try TrustedExecutable(path) } catch {
            host.log(.err, "cannot run \(path) for \(subcommand): \(error.message) (module argument pwdir=)")
            return
        }
        let argv = [executable.path, subcommand, "--background", "--db", options.db, "--config", options.config]
        do {
            let r = try Subprocess.run(argv, executable: executable, input: Array((user + "\n").utf8), timeoutMilliseconds: 5000)
            if r.timedOut || (r.exitCode ?? 0) != 0 {
                host.log(.err, "\(path) \(subcommand) failed: \(r.timedOut ? "timed out" : r.diagnostic)")
            }
        } catch {
            host.log(.err, "cannot run \(path): \(error.message)")
        }
    }
}
