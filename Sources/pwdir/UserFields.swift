import ArgumentParser
import PwdirCore

/// The editable attributes, shared by `user add` and `user modify`. An empty value clears one.
struct UserFields: ParsableArguments {
    @Option(help: ArgumentHelp("Login email address.", valueName: "address")) var email: String?
    @Option(name: .customLong("recovery-email"), help: ArgumentHelp("Secondary address that receives passwords and recovery codes.", valueName: "address"))
    var recoveryEmail: String?
    @Option(name: .customLong("full-name"), help: ArgumentHelp("The person's name (at most 128 characters and 512 bytes).", valueName: "name")) var fullName: String?
    @Option(help: ArgumentHelp("user, manager or admin.", valueName: "role")) var role: String?
    @Option(help: ArgumentHelp("Login of the user's manager.", valueName: "login")) var manager: String?
    @Flag(name: .customLong("no-mailbox"), help: "The login email is fictitious: never send mail there.") var noMailbox = false
    @Flag(name: .customLong("mailbox"), help: "The login email is a real mailbox (undoes --no-mailbox).") var mailbox = false
    @Option(help: ArgumentHelp("Language of the user's mail: en or fr.", valueName: "lang")) var lang: String?
    @Option(help: ArgumentHelp("The account's uid number (default: the next free one from uid_min).", valueName: "number")) var uid: String?
    @Option(help: ArgumentHelp("The account's group number (default: a private group, numbered as the uid).", valueName: "number")) var gid: String?
    @Option(help: ArgumentHelp("The home directory (default: home_base/LOGIN).", valueName: "path")) var home: String?
    @Option(help: ArgumentHelp("The login shell (default: default_shell).", valueName: "path")) var shell: String?

    /// --uid, --gid, --home and --shell as given.
    var posix: PosixRequest { PosixRequest(uid: uid, gid: gid, home: home, shell: shell) }

    /// Checks every value before any file is touched.
    func check() throws(PwdirError) {
        if let email, !email.isEmpty { try MailAddress.validate(email, field: "--email") }
        if let recoveryEmail, !recoveryEmail.isEmpty { try MailAddress.validate(recoveryEmail, field: "--recovery-email") }
        if let fullName { try FullName.validate(fullName, field: "--full-name") }
        if let role, Role(rawValue: role) == nil {
            throw .invalidValue(field: "--role", reason: "'\(PwdirError.printable(role))' is not one of user, manager, admin")
        }
        if let manager, !manager.isEmpty { try LoginName.validate(manager) }
        if noMailbox && mailbox { throw .invalidValue(field: "--no-mailbox", reason: "--no-mailbox and --mailbox contradict each other") }
        try posix.check()
        if let lang, !lang.isEmpty, MailLanguage(rawValue: lang) == nil {
            throw .invalidValue(field: "--lang", reason: "'\(PwdirError.printable(lang))' is not one of \(MailLanguage.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// Applies the values to `record`; `managerExists` says whether a login is in the directory.
    func apply(to record: inout UserRecord, managerExists: (String) throws(PwdirError) -> Bool) throws(PwdirError) {
        if let email { record.mail = email.isEmpty ? nil : email }
        if let recoveryEmail { record.recoveryMail = recoveryEmail.isEmpty ? nil : recoveryEmail }
        if let fullName { record.fullName = fullName.isEmpty ? nil : fullName }
        if let role { record.role = Role(rawValue: role)! }
        if noMailbox { record.hasNoMailbox = true }
        if mailbox { record.hasNoMailbox = false }
        if let lang { record.language = lang.isEmpty ? nil : MailLanguage(rawValue: lang) }
        if let manager {
            if manager.isEmpty {
                record.manager = nil
            } else {
                if manager == record.login { throw .invalidValue(field: "--manager", reason: "a user cannot be their own manager") }
                guard try managerExists(manager) else {
                    throw .invalidValue(field: "--manager", reason: "no user '\(manager)' in the directory; add the manager first")
                }
                record.manager = manager
            }
        }
    }
}
