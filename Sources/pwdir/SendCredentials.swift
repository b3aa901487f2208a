import ArgumentParser
import Foundation
import PwdirCore
import PwdirMail

/// The batch "welcome kit": for each selected user, a new password per the policy, mailed with
/// the login; the password changes only where the MTA accepted the mail.
struct SendCredentials: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-credentials",
        abstract: "Mail each selected user their login and a new temporary password.",
        discussion: "Only hashes are kept, so an existing password can never be sent: a new one is generated for each user. A user's password changes only if their mail was accepted; the exit status is 0 only if every selected user was sent."
    )
    @OptionGroup var paths: Paths
    @Argument(help: "Logins to send to.") var names: [String] = []
    @Flag(help: "Every user in the directory.") var all = false
    @Option(help: ArgumentHelp("Every user with this role.", valueName: "role")) var role: String?
    @Option(help: ArgumentHelp("Every user this manager manages.", valueName: "login")) var manager: String?
    @Flag(name: .customLong("no-force-change"), help: "Do not require a change at the first login.") var noForceChange = false
    @Flag(help: "One JSON document on stdout.") var json = false

    func validate() throws {
        let selectors = (names.isEmpty ? 0 : 1) + (all ? 1 : 0) + (role == nil ? 0 : 1) + (manager == nil ? 0 : 1)
        if selectors != 1 { throw ValidationError("choose the users: logins, or one of --all, --role, --manager") }
        for n in names { try LoginName.validate(n) }
        if let role, Role(rawValue: role) == nil { throw PwdirError.invalidValue(field: "--role", reason: "'\(PwdirError.printable(role))' is not one of user, manager, admin") }
        if let manager { try LoginName.validate(manager) }
    }

    func run() throws {
        let settings = try paths.settings()
        let records = try paths.directory.load()
        let auth = try paths.authority(records)
        try auth.require(.sendCredentials)
        var selected: [UserRecord]
        if all { selected = records }
        else if let role { selected = records.filter { $0.role.rawValue == role } }
        else if let manager {
            guard records.contains(where: { $0.login == manager }) else { throw PwdirError.userNotFound(manager) }
            selected = records.filter { $0.manager == manager }
        }
        else {
            selected = []
            for n in names {
                guard let r = records.first(where: { $0.login == n }) else { throw PwdirError.userNotFound(n) }
                try auth.require(.sendCredentials, on: r)
                if !selected.contains(where: { $0.login == n }) { selected.append(r) }
            }
        }
        selected = auth.visible(selected, for: .sendCredentials)  // a manager's --all is their team
        let results = try CredentialsBatch(paths: paths, settings: settings, mustChange: !noForceChange, auth: auth, action: .sendCredentials).send(to: selected)
        try results.report(json: json)
        if !results.allSent { throw ExitCode(1) }
    }
}

/// One send of credentials to many users: render, mail and hash each; then one directory write
/// with the users whose mail was accepted.
struct CredentialsBatch {
    let paths: Paths
    let settings: Settings
    let mustChange: Bool
    let auth: Authority
    let action: Action

    struct Outcome: Codable {
        var login: String
        /// sent, failed or skipped
        var result: String
        var recipient: String?
        var detail: String?
    }

    struct Results {
        var outcomes: [Outcome]
        var allSent: Bool { outcomes.allSatisfy { $0.result == "sent" } }

        func report(json: Bool) throws {
            if json {
                try printJSON(["results": outcomes])
                return
            }
            for o in outcomes {
                switch o.result {
                case "sent": print("\(o.login): sent to \(o.recipient ?? "?")")
                case "skipped": print("\(o.login): skipped: \(o.detail ?? "")")
                default: print("\(o.login): failed: \(o.detail ?? "")")
                }
            }
            let sent = outcomes.filter { $0.result == "sent" }.count
            print("\(sent) of \(outcomes.count) sent")
        }
    }

    func send(to users: [UserRecord]) throws -> Results {
        let mailer = Mailer(settings: settings)
        let policy = PasswordPolicy(settings: settings)
        let now = systemNow()
        var outcomes: [Outcome] = []
        var hashes: [String: String] = [:]
        for user in users {
            guard let recipient = user.mailRecipient else {
                outcomes.append(Outcome(login: user.login, result: "skipped", recipient: nil, detail: "no mailbox (no recovery email, and the email is missing or marked no-mailbox)"))
                continue
            }
            do {
                let password = try Passwd.generatePassing(policy, user: user.login, settings: settings)
                let hash = try Yescrypt.hashNew(password, cost: settings.yescryptCost)
                var values: [String: Any] = ["must_change": mustChange]
                if mustChange, settings.tempTTL > 0 { values["expires"] = GeneralizedTime.readable(now + settings.tempTTL) }
                values["password"] = password.withBytes { String(decoding: $0, as: UTF8.self) }
                try mailer.send(.credentials, to: user, values: values, now: now)
                hashes[user.login] = hash
                outcomes.append(Outcome(login: user.login, result: "sent", recipient: MailAddress.masked(recipient), detail: nil))
            } catch {
                outcomes.append(Outcome(login: user.login, result: "failed", recipient: MailAddress.masked(recipient), detail: (error as? PwdirError)?.message ?? "\(error)"))
            }
        }
        guard !hashes.isEmpty else { return audited(outcomes) }
        let remember = settings.remember
        let mustChange = self.mustChange
        do {
            let stored = try paths.directory.update { (records) throws(PwdirError) -> Set<String> in
                var done: Set<String> = []
                for i in records.indices {
                    guard let hash = hashes[records[i].login] else { continue }
                    records[i].setPassword(hash: hash, now: now, mustChange: mustChange, temporary: mustChange, remember: remember)
                    done.insert(records[i].login)
                }
                return done
            }
            for i in outcomes.indices where outcomes[i].result == "sent" && !stored.contains(outcomes[i].login) {
                outcomes[i].result = "failed"
                outcomes[i].detail = "the mail went out but the user was removed meanwhile; nothing was stored"
            }

        } catch {
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
        for o in outcomes {
            auth.audit.record(actor: auth.name, action: action.rawValue, target: o.login, result: o.result == "sent" ? "ok" : o.result,
                              detail: o.result == "sent" ? "new password mailed to \(o.recipient ?? "?")" : o.detail)
        }
        return Results(outcomes: outcomes)
    }
}
