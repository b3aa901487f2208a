#if canImport(Glibc)
import Glibc
#endif

/// pwdird's answer to one request (see `PwdirdMessage`), against the store it holds. Who may ask
/// what: root (the module in sshd, login, su, the setuid pwdir-chkpwd) about anyone; another
/// user only about their own account (the login of their uid), and only to read it or check
/// its password, never to change it.
public enum PwdirdService {
    public static let maxSecretBytes = CheckerService.maxPasswordBytes

    public static func answer(_ bytes: [UInt8], peer: uid_t, store: AccountStore, settings: Settings, now: Int64, log: (LogPriority, String) -> Void) -> [UInt8] {
        var out = PwdirdMessage()
        func fail(_ e: PwdirError) -> [UInt8] { PwdirdMessage.failure(e).encoded() }
        guard let request = PwdirdMessage.decode(bytes), request.text("pwdird") == "1", let verb = request.text("verb"), let login = request.text("login") else {
            log(.warning, "a request from uid \(peer) that is not pwdird's protocol was refused")
            return fail(.notAllowed("not a pwdird request"))
        }
        let secret = request["secret"].map { SecretBytes($0) }
        if let secret, secret.count > maxSecretBytes || secret.containsNUL { return fail(.notAllowed("the secret is longer than \(maxSecretBytes) bytes or holds a NUL byte")) }
        guard verb == "policy" || LoginName.isValid(login) else { return fail(.userNotFound(PwdirError.printable(login, limit: 64))) }
        if peer != 0 {
            let own = Sys.userName(uid: peer)
            guard ["record", "tally", "policy", "authenticate"].contains(verb), verb == "policy" || own == login else {
                log(.warning, "uid \(peer) (\(own ?? "no login")) asked '\(PwdirError.printable(verb, limit: 32))' about \(PwdirError.printable(login, limit: 64)); refused: only root, or a user about their own account")
                return fail(.notAllowed("only root may ask that of pwdird"))
            }
        }
        let s = store.effectiveSettings(settings)
        switch verb {
        case "policy":
            out.add("policy", PwdirdCodec.policy(s))
        case "record":
            do {
                if var r = try store.record(login) {
                    if peer != 0 { r.setValues(UserRecord.Key.history, []) }
                    out.add("record", PwdirdCodec.record(r))
                }
            } catch { return fail(error) }
        case "tally":
            switch store.tally(login) {
            case let .tally(t): out.add("tally", PwdirdCodec.tally(t))
            case let .damaged(why): return fail(.server("the failures of \(login) cannot be read: \(why)"))
            case let .unavailable(e): return fail(e)
            }
        case "authenticate":
            guard let secret else { return fail(.notAllowed("authenticate needs the password")) }
            let outcome = store.authenticate(login, password: secret, settings: settings, now: now, settling: .login)
            if case let .unavailable(e) = outcome { return fail(e) }
            out.add("outcome", PwdirdCodec.outcome(outcome))
            if case var .success(r) = outcome {
                if peer != 0 { r.setValues(UserRecord.Key.history, []) }
                out.add("record", PwdirdCodec.record(r))
            }
        case "set-password":
            guard let secret else { return fail(.notAllowed("set-password needs the new password")) }
            do {
                try PasswordPolicy(settings: s).check(secret)
                let report = try store.setPassword(login, to: secret, by: .user, settings: settings, now: now)
                out.add("report", PwdirdCodec.report(report))
                log(.notice, "password of \(login) changed by its user")
            } catch { return fail(error) }
        case "has-second-factor":
            out.add("second-factor", store.hasSecondFactor(login) ? "1" : "0")
        case "second-factor":
            guard let secret, let matched = request.text("matched"), matched == "0" || matched == "1" else {
                return fail(.notAllowed("second-factor needs the code and the password's verdict"))
            }
            let outcome = store.verifySecondFactor(login, code: secret, passwordMatched: matched == "1", settings: settings, now: now)
            out.add("outcome", PwdirdCodec.secondFactor(outcome))
            if case let .success(r, _) = outcome { out.add("record", PwdirdCodec.record(r)) }
        case "recovery-claim":
            guard let secret else { return fail(.notAllowed("recovery-claim needs the code")) }
            switch store.claimRecoveryCode(login, code: secret, settings: settings, now: now) {
            case let .claimed(c): out.add("claim", "\(c.nonce) \(c.codeHash)")
            case .refused: out.add("outcome", "refused")
            case .unknownUser: out.add("outcome", "unknown-user")
            case let .unavailable(e): return fail(e)
            }
        case "recovery-release", "recovery-finish":
            guard let claim = request.text("claim").flatMap(PwdirdCodec.claim) else { return fail(.notAllowed("\(verb) needs the claim")) }
            if verb == "recovery-release" {
                store.releaseRecoveryClaim(login, claim: claim)
            } else {
                guard let secret else { return fail(.notAllowed("recovery-finish needs the new password")) }
                do {
                    try PasswordPolicy(settings: s).check(secret)
                    try store.finishRecovery(login, claim: claim, password: secret, settings: settings, now: now)
                    log(.notice, "password of \(login) changed with a recovery code")
                } catch { return fail(error) }
            }
        default:
            return fail(.notAllowed("pwdird has no '\(PwdirError.printable(verb, limit: 32))'"))
        }
        out.add("result", "ok")
        return out.encoded()
    }
}
