import ArgumentParser
import Foundation
import PwdirCore

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Add, list, find, show, modify and remove users.",
        subcommands: [Add.self, List.self, Find.self, Show.self, Modify.self, Remove.self]
    )
}

/// The editable attributes, shared by `user add` and `user modify`. An empty value clears one.
struct UserFields: ParsableArguments {
    @Option(help: ArgumentHelp("Login email address.", valueName: "address")) var email: String?
    @Option(name: .customLong("recovery-email"), help: ArgumentHelp("Secondary address that receives passwords and recovery codes.", valueName: "address"))
    var recoveryEmail: String?
    @Option(name: .customLong("full-name"), help: ArgumentHelp("The person's name.", valueName: "name")) var fullName: String?
    @Option(help: ArgumentHelp("user, manager or admin.", valueName: "role")) var role: String?
    @Option(help: ArgumentHelp("Login of the user's manager.", valueName: "login")) var manager: String?
    @Flag(name: .customLong("no-mailbox"), help: "The login email is fictitious: never send mail there.") var noMailbox = false
    @Flag(name: .customLong("mailbox"), help: "The login email is a real mailbox (undoes --no-mailbox).") var mailbox = false
    @Option(help: ArgumentHelp("Language of the user's mail: en or fr.", valueName: "lang")) var lang: String?

    /// Checks every value before any file is touched.
    func check() throws(PwdirError) {
        if let email, !email.isEmpty { try MailAddress.validate(email, field: "--email") }
        if let recoveryEmail, !recoveryEmail.isEmpty { try MailAddress.validate(recoveryEmail, field: "--recovery-email") }
        if let fullName {
            if fullName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }) {
                throw .invalidValue(field: "--full-name", reason: "control characters are not allowed")
            }
            if fullName.count > 128 { throw .invalidValue(field: "--full-name", reason: "longer than 128 characters") }
        }
        if let role, Role(rawValue: role) == nil {
            throw .invalidValue(field: "--role", reason: "'\(PwdirError.printable(role))' is not one of user, manager, admin")
        }
        if let manager, !manager.isEmpty { try LoginName.validate(manager) }
        if noMailbox && mailbox { throw .invalidValue(field: "--no-mailbox", reason: "--no-mailbox and --mailbox contradict each other") }
        if let lang, !lang.isEmpty, MailLanguage(rawValue: lang) == nil {
            throw .invalidValue(field: "--lang", reason: "'\(PwdirError.printable(lang))' is not one of \(MailLanguage.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// Applies the values to `record`; `records` is the whole directory, to check the manager.
    func apply(to record: inout UserRecord, in records: [UserRecord]) throws(PwdirError) {
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
                guard records.contains(where: { $0.login == manager }) else {
                    throw .invalidValue(field: "--manager", reason: "no user '\(manager)' in the directory; add the manager first")
                }
                record.manager = manager
            }
        }
    }
}

extension UserCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user (no password yet: set one with 'pwdir passwd').")
        @OptionGroup var paths: Paths
        @Argument(help: "The login name.") var name: String
        @OptionGroup var fields: UserFields

        func validate() throws {
            try LoginName.validate(name)
            try fields.check()
        }

        func run() throws {
            _ = try paths.settings()
            let auth = try paths.authority()
            try auth.require(.add, targetName: name)
            let now = systemNow()
            try auth.perform(.add, target: name) {
            try paths.directory.update { (records) throws(PwdirError) in
                if records.contains(where: { $0.login == name }) { throw .userExists(name) }
                var record = UserRecord(login: name)
                try fields.apply(to: &record, in: records)
                record[UserRecord.Key.created] = GeneralizedTime.format(now)
                records.append(record)
                records.sort { $0.login.utf8.lexicographicallyPrecedes($1.login.utf8) }
            }
            }
            print("added \(name); set a password with 'pwdir passwd \(name) --generate'")
        }
    }

    struct Modify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a user's attributes (an empty value clears one).")
        @OptionGroup var paths: Paths
        @Argument(help: "The login name.") var name: String
        @OptionGroup var fields: UserFields

        func validate() throws {
            try LoginName.validate(name)
            try fields.check()
        }

        func run() throws {
            _ = try paths.settings()
            let auth = try paths.authority()
            try auth.require(.modify, targetName: name)
            try auth.perform(.modify, target: name) {
                try paths.directory.update { (records) throws(PwdirError) in
                    let i = try records.index(of: name)
                    var record = records[i]
                    try fields.apply(to: &record, in: records)
                    records[i] = record
                }
            }
            print("modified \(name)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user.")
        @OptionGroup var paths: Paths
        @Argument(help: "The login name.") var name: String

        func validate() throws { try LoginName.validate(name) }

        func run() throws {
            _ = try paths.settings()
            let auth = try paths.authority()
            try auth.require(.remove, targetName: name)
            try auth.perform(.remove, target: name) {
            try paths.directory.update { (records) throws(PwdirError) in
                let i = try records.index(of: name)
                let team = records.filter { $0.manager == name }.map(\.login)
                if !team.isEmpty {
                    throw .invalidValue(field: "user", reason: "'\(name)' manages \(team.joined(separator: ", ")); give them another manager first")
                }
                records.remove(at: i)
            }
            try TallyStore(directory: paths.directory).reset(name)
            }
            print("removed \(name)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every user.")
        @OptionGroup var paths: Paths
        @Flag(help: "One JSON document on stdout.") var json = false
        @Flag(help: "Only the accounts that cannot log in now (locked, expired temporary password).") var locked = false

        func run() throws {
            let auth = try paths.authority()
            try auth.require(.list)
            var views = try UserView.all(paths) { auth.allows(.list, on: $0) }
            if locked { views = views.filter(\.locked) }
            try UserView.output(views, json: json)
        }
    }

    struct Find: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Search users by login, name or email (case-insensitive).")
        @OptionGroup var paths: Paths
        @Argument(help: "Text to look for.") var query: String
        @Flag(help: "One JSON document on stdout.") var json = false

        func run() throws {
            let auth = try paths.authority()
            try auth.require(.find)
            let needle = query.lowercased()
            let found = try UserView.all(paths) { r in
                auth.allows(.find, on: r) && [r.login, r.fullName, r.mail, r.recoveryMail].contains { $0?.lowercased().contains(needle) ?? false }
            }
            try UserView.output(found, json: json)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one user: attributes and account state (never the hash).")
        @OptionGroup var paths: Paths
        @Argument(help: "The login name.") var name: String
        @Flag(help: "One JSON document on stdout.") var json = false

        func validate() throws { try LoginName.validate(name) }

        func run() throws {
            let auth = try paths.authority()
            let target = try paths.directory.lookup(name)
            try auth.require(.show, on: target, targetName: name)
            let view = try UserView.all(paths) { $0.login == name }.first ?? { throw PwdirError.userNotFound(name) }()
            if json {
                try printJSON(view)
            } else {
                print(view.details)
            }
        }
    }
}
