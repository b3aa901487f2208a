import PwdirCore
import PwdirMail

/// The recovery desk: makes a one-time code, keeps only its hash in the account's tally and
/// mails it. Used by the module through the hidden `recovery-request` helper and by the help
/// desk's `pwdir recover`. Every request costs one yescrypt hash, whether or not a code goes
/// out, so the helper's work does not depend on the account.
struct RecoveryDesk {
    let store: AccountStore
    let settings: Settings
    let auditor: Auditor
    let actor: String

    enum Outcome {
        case sent(recipient: String)
        case unknown
        case noAddress(login: String)
        case locked(login: String)
        case rateLimited(login: String, retryAfter: Int64)
        case failed(login: String, reason: String)
    }

    /// Finds the user by login, or by an address mail may go to (recovery email, or a real
    /// login email), case-insensitively.
    static func find(_ who: String, in store: AccountStore) throws(PwdirError) -> UserRecord? {
        if LoginName.isValid(who), let r = try store.record(who) { return r }
        guard who.contains("@") else { return nil }
        let needle = who.lowercased()
        return try store.allRecords().first { r in
            r.recoveryMail?.lowercased() == needle || (!r.hasNoMailbox && r.mail?.lowercased() == needle)
        }
    }

    func request(_ who: String, now: Int64) -> Outcome {
        func note(_ target: String, _ result: String, _ detail: String) {
            auditor.record(actor: actor, action: "recovery code", target: target, result: result, detail: detail)
        }
        // The code and its hash are made first, for everyone: the same work whoever asks.
        let code: SecretBytes, hash: String
        do {
            code = try RecoveryCode.generate()
            hash = try Yescrypt.hashNew(RecoveryCode.normalize(code), cost: settings.yescryptCost)
        } catch {
            note(PwdirError.printable(who), "failed", error.message)
            return .failed(login: PwdirError.printable(who), reason: error.message)
        }
        let record: UserRecord
        do {
            guard let found = try Self.find(who, in: store) else {
                // What was typed is not recorded: it may be a password typed in the login field.
                note("(unknown)", "refused", "unknown login or address")
                return .unknown
            }
            record = found
        } catch {
            note(PwdirError.printable(who), "failed", error.message)
            return .failed(login: PwdirError.printable(who), reason: error.message)
        }
        let login = record.login
        guard record.mailRecipient != nil else {
            note(login, "refused", "no recovery address: the user must go through their manager")
            return .noAddress(login: login)
        }
        var damage: String?
        if case let .damaged(why) = store.tally(login) { damage = why }
        let state = AccountState(record: record, tally: store.tally(login).tally, tallyDamage: damage, settings: settings, now: now)
        if let reason = state.lockReason, reason == .administrator || reason == .failures || reason == .damagedTally {
            note(login, "refused", "account locked (\(reason.rawValue)): only an administrator or manager unlocks it")
            return .locked(login: login)
        }
        do {
            // Checked and stored under the account's tally lock: parallel requests make one code.
            try store.storeRecoveryCode(login, hash: hash, settings: settings, now: now)
        } catch {
            if case let .rateLimited(_, retryAfter) = error {
                note(login, "refused", "a code was sent less than \(settings.recoveryInterval) s ago")
                return .rateLimited(login: login, retryAfter: retryAfter)
            }
            note(login, "failed", error.message)
            return .failed(login: login, reason: error.message)
        }
        let expires = now + settings.recoveryTTL
        do {
            let recipient = try Mailer(settings: settings).send(.recoveryCode, to: record, values: [
                "code": code.withBytes { String(decoding: $0, as: UTF8.self) },
                "expires": GeneralizedTime.readable(expires),
            ], now: now)
            note(login, "ok", "sent to \(MailAddress.masked(recipient)), valid until \(GeneralizedTime.readable(expires))")
            return .sent(recipient: MailAddress.masked(recipient))
        } catch {
            // A code nobody received is never left valid (unless another request replaced it).
            try? store.dropRecoveryCode(login, hash: hash)
            note(login, "failed", error.message)
            return .failed(login: login, reason: error.message)
        }
    }

    /// The notice after a recovery: "your password was changed".
    func notify(_ login: String, now: Int64) {
        guard let record = (try? store.record(login)) ?? nil, record.mailRecipient != nil else { return }
        do {
            let to = try Mailer(settings: settings).send(.passwordChanged, to: record, values: [:], now: now)
            auditor.record(actor: actor, action: "recovery notice", target: login, result: "ok", detail: "sent to \(MailAddress.masked(to))")
        } catch {
            auditor.record(actor: actor, action: "recovery notice", target: login, result: "failed", detail: error.message)
        }
    }
}
