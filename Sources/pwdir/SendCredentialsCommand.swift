import ArgumentParser
import PwdirCore

/// The batch "welcome kit": for each selected user, a new password per the policy, mailed with
/// the login; the password changes only where the MTA accepted the mail.
struct SendCredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-credentials",
        abstract: "Mail each selected user their login and a new temporary password.",
        discussion: "Only hashes are kept, so an existing password can never be sent: a new one is generated for each user. A user's password changes only if their mail was accepted; the exit status is 0 only if every selected user was sent."
    )
    @OptionGroup var paths: PathOptions
    @Argument(help: "Logins to send to.") var names: [String] = []
    @Flag(help: "Every user in the directory.") var all = false
    @Option(help: ArgumentHelp("Every user with this role.", valueName: "role")) var role: String?
    @Option(help: ArgumentHelp("Every user this manager manages.", valueName: "login")) var manager: String?
    @Flag(name: .customLong("no-force-change"), help: "Do not require a change at the first login.") var noForceChange = false
    @Flag(help: "One JSON document on stdout.") var json = false

    func validate() throws {
        let selectors = (names.isEmpty ? 0 : 1) + (all ? 1 : 0) + (role == nil ? 0 : 1) + (manager == nil ? 0 : 1)
        if selectors != 1 { throw ValidationError("choose the users: logins, or one of --all, --role, --manager") }
    }

    func run() throws {
        for n in names { try LoginName.validate(n) }
        if let role, Role(rawValue: role) == nil { throw PwdirError.invalidValue(field: "--role", reason: "'\(PwdirError.printable(role))' is not one of user, manager, admin") }
        if let manager { try LoginName.validate(manager) }
        let c = try CommandContext(paths)
        try c.authority.require(.sendCredentials)
        var selected: [UserRecord]
        if all { selected = try c.store.allRecords() }
        else if let role { selected = try c.store.allRecords().filter { $0.role.rawValue == role } }
        else if let manager {
            guard try c.store.record(manager) != nil else { throw PwdirError.userNotFound(manager) }
            selected = try c.store.allRecords().filter { $0.manager == manager }
        } else {
            selected = []
            for n in names {
                let r = try c.record(n)
                try c.authority.require(.sendCredentials, on: r)
                if !selected.contains(where: { $0.login == n }) { selected.append(r) }
            }
        }
        selected = selected.filter { c.authority.allows(.sendCredentials, on: $0) }  // a manager's --all is their team
        let results = try CredentialsBatch(context: c, mustChange: !noForceChange, action: .sendCredentials).send(to: selected)
        try results.report(json: json)
        if !results.allSent { throw ExitCode(1) }
    }
}
