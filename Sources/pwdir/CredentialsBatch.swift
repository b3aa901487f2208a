import PwdirCore
import PwdirMail

/// One send of credentials to many users: generate, hash, render and mail each; then one write
/// with the users whose mail was accepted. A new password from an administrator lifts a lock
/// from failed logins (their own lock stays), and each outcome says so.
struct CredentialsBatch {
    let context: CommandContext
    let mustChange: Bool
    let action: Action

    struct Outcome: Codable {
        var login: String
        /// sent, failed or skipped
        var result: String
        var recipient: String?
        var detail: String?
        /// What the new password did to the account's locks.
        var lockNote: String?
    }

    struct Results {
        var outcomes: [Outcome]
        var allSent: Bool { outcomes.allSatisfy { $0.result == "sent" } }

        func report(json: Bool) throws(PwdirError) {
            if json {
                try Output.json(["results": outcomes])
                return
            }
            for o in outcomes {
                switch o.result {
                case "sent": print("\(o.login): sent to \(o.recipient ?? "?")" + (o.lockNote.map { "; \($0)" } ?? ""))
                case "skipped": print("\(o.login): skipped: \(o.detail ?? "")")
                default: print("\(o.login): failed: \(o.detail ?? "")")
                }
            }
            let sent = outcomes.filter { $0.result == "sent" }.count
            print("\(sent) of \(outcomes.count) sent")
        }
    }

    func send(to users: [UserRecord]) throws(PwdirError) -> Results {
        let c = context
        let mailer = Mailer(settings: c.settings)
        let lockout = Lockout(settings: c.settings)
        var outcomes: [Outcome] = []
        var hashes: [String: String] = [:]
        // The batch's record comes first: a change the trail cannot know is not made, and no
        // mail goes out with a password that would not be stored.
        let batchID = AuditLog.newID()
        let a = c.authority
        let mailable = users.filter { $0.mailRecipient != nil }.map(\.login)
        if !mailable.isEmpty {
            try a.auditor.begin(actor: a.name, action: action.rawValue, target: nil, detail: "sending new passwords to \(mailable.joined(separator: ", "))", id: batchID)
        }
        for user in users {
            guard let recipient = user.mailRecipient else {
                outcomes.append(Outcome(login: user.login, result: "skipped", detail: "no mailbox (no recovery email, and the email is missing or marked no-mailbox)"))
                continue
            }
            do throws(PwdirError) {
                let password = try PasswdCommand.generatePassing(user: user.login, settings: c.settings)
                let hash = try Yescrypt.hashNew(password, cost: c.settings.yescryptCost)
                var values: [String: Any] = ["must_change": mustChange]
                if mustChange, c.settings.tempTTL > 0 { values["expires"] = GeneralizedTime.readable(c.now + c.settings.tempTTL) }
                values["password"] = password.withBytes { String(decoding: $0, as: UTF8.self) }
                try mailer.send(.credentials, to: user, values: values, now: c.now)
                hashes[user.login] = hash
                outcomes.append(Outcome(login: user.login, result: "sent", recipient: MailAddress.masked(recipient)))
            } catch {
                outcomes.append(Outcome(login: user.login, result: "failed", recipient: MailAddress.masked(recipient), detail: error.message))
            }
        }
        guard !hashes.isEmpty else {
            if !mailable.isEmpty {
                a.auditor.record(actor: a.name, action: action.rawValue, target: nil, result: "failed", detail: "no mail went out; nothing stored", id: batchID)
            }
            return audited(outcomes)
        }
        // Which of them are locked by failed logins now (lifted below) or by an administrator (kept).
        var failureLocked: Set<String> = []
        var tallyGenerations: [String: UInt64] = [:]  // a reset must go above them (see resetFailures)
        for login in hashes.keys {
            guard let t = c.store.tally(login).tally else { continue }
            tallyGenerations[login] = t.generation
            if let r = try? c.store.record(login),
               lockout.isLocked(lockout.normalized(t, now: c.now, generation: r.resetGeneration), now: c.now) { failureLocked.insert(login) }
        }
        let (remember, mustChange, now) = (c.settings.remember, self.mustChange, c.now)
        do throws(PwdirError) {
            let stored = try c.store.updateAll { (records) throws(PwdirError) -> [String: Bool] in
                var done: [String: Bool] = [:]  // login: still locked by an administrator
                for i in records.indices {
                    guard let hash = hashes[records[i].login] else { continue }
                    records[i].setPassword(hash: hash, now: now, mustChange: mustChange, temporary: mustChange, remember: remember)
                    records[i].resetFailures(now: now, above: tallyGenerations[records[i].login] ?? 0)
                    done[records[i].login] = records[i].isAdminLocked
                }
                return done
            }
            for i in outcomes.indices where outcomes[i].result == "sent" {
                guard let adminLocked = stored[outcomes[i].login] else {
                    outcomes[i].result = "failed"
                    outcomes[i].detail = "the mail went out but the user was removed meanwhile; nothing was stored"
                    continue
                }
                var report = PasswordReport()
                report.liftedFailureLock = failureLocked.contains(outcomes[i].login)
                report.stillLockedByAdministrator = adminLocked
                outcomes[i].lockNote = PasswdCommand.lockNote(report)
            }
            a.auditor.record(actor: a.name, action: action.rawValue, target: nil, result: "ok", detail: "new passwords stored for \(stored.keys.sorted().joined(separator: ", "))", id: batchID)
        } catch {
            a.auditor.record(actor: a.name, action: action.rawValue, target: nil, result: "failed", detail: error.message, id: batchID)
            let why = error.message
            for i in outcomes.indices where outcomes[i].result == "sent" {
                outcomes[i].result = "failed"
                outcomes[i].detail = "the mail went out but the new password could not be stored (\(why)); the old one still works, send again"
            }
        }
        return audited(outcomes)
    }

    /// Records each user's outcome in the audit trail.
    private func audited(_ outcomes: [Outcome]) -> Results {
        let a = context.authority
        for o in outcomes {
            a.auditor.record(actor: a.name, action: action.rawValue, target: o.login, result: o.result == "sent" ? "ok" : o.result,
                             detail: o.result == "sent" ? "new password mailed to \(o.recipient ?? "?")" + (o.lockNote.map { "; \($0)" } ?? "") : o.detail)
        }
        return Results(outcomes: outcomes)
    }
}
