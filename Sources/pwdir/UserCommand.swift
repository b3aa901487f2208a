import ArgumentParser
import PwdirCore

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Add, list, find, show, modify and remove users.",
        subcommands: [UserAdd.self, UserList.self, UserFind.self, UserShow.self, UserModify.self, UserRemove.self]
    )
}

struct UserAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a user (no password yet: set one with 'pwdir passwd').")
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login name.") var name: String
    @OptionGroup var fields: UserFields

    func run() throws {
        try LoginName.validate(name)
        try fields.check()
        let c = try CommandContext(paths)
        try c.authority.require(.add, targetName: name)
        var note: String?
        var added = UserRecord(login: name)
        try c.authority.perform(.add, target: name) { () throws(PwdirError) in
            var record = UserRecord(login: name)
            try fields.apply(to: &record) { (m) throws(PwdirError) in try c.store.record(m) != nil }
            record[UserRecord.Key.created] = GeneralizedTime.format(c.now)
            try c.store.add(record, now: c.now) { (record) throws(PwdirError) in
                // under the writers' lock: no other add can take the same number meanwhile
                if c.userdb != nil || !fields.posix.isEmpty {
                    var ids = try c.posixIDs()
                    note = try fields.posix.assign(to: &record, ids: &ids, settings: c.settings)
                }
                added = record
            }
        }
        if let note { Output.warn(note) }
        let published = c.publish(added, previous: nil)
        print("added \(name); set a password with 'pwdir passwd \(name) --generate'")
        if !published { throw ExitCode(1) }
    }
}

struct UserModify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "modify", abstract: "Change a user's attributes (an empty value clears one).")
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login name.") var name: String
    @OptionGroup var fields: UserFields

    func run() throws {
        try LoginName.validate(name)
        try fields.check()
        let c = try CommandContext(paths)
        try c.authority.require(.modify, targetName: name)
        let managerExists = fields.manager.map { m in m.isEmpty || ((try? c.store.record(m)) ?? nil) != nil } ?? true
        var previous: UserRecord?
        var note: String?
        let modified = try c.authority.perform(.modify, target: name) { () throws(PwdirError) -> UserRecord in
            try c.store.update(name) { (record) throws(PwdirError) -> UserRecord in
                previous = record
                try fields.apply(to: &record) { (_) throws(PwdirError) in managerExists }
                if !fields.posix.isEmpty {  // under the writers' lock, as for add
                    var ids = try c.posixIDs()
                    note = try fields.posix.apply(to: &record, ids: &ids, settings: c.settings)
                }
                return record
            }
        }
        if let note { Output.warn(note) }
        let published = c.publish(modified, previous: previous)
        print("modified \(name)")
        if !published { throw ExitCode(1) }
    }
}

struct UserRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Delete a user.")
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login name.") var name: String

    func run() throws {
        try LoginName.validate(name)
        let c = try CommandContext(paths)
        try c.authority.require(.remove, targetName: name)
        let previous = try c.store.record(name)
        try c.authority.perform(.remove, target: name) { () throws(PwdirError) in try c.store.remove(name) }
        let published = previous.map(c.withdraw) ?? true
        print("removed \(name)")
        if !published { throw ExitCode(1) }
    }
}

struct UserList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List every user.")
    @OptionGroup var paths: PathOptions
    @Flag(help: "One JSON document on stdout.") var json = false
    @Flag(help: "Only the accounts that cannot log in now (locked, expired temporary password).") var locked = false

    func run() throws {
        let c = try CommandContext(paths)
        try c.authority.require(.list)
        try UserView.each(c, .list, view: { locked ? $0.locked : true }, json: json)
    }
}

struct UserFind: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "find", abstract: "Search users by login, name or email (case-insensitive).")
    @OptionGroup var paths: PathOptions
    @Argument(help: "Text to look for.") var query: String
    @Flag(help: "One JSON document on stdout.") var json = false

    func run() throws {
        let c = try CommandContext(paths)
        try c.authority.require(.find)
        let needle = query.lowercased()
        try UserView.each(c, .find, containing: query, record: { r in
            [r.login, r.fullName, r.mail, r.recoveryMail].contains { $0?.lowercased().contains(needle) ?? false }
        }, json: json)
    }
}

struct UserShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one user: attributes and account state (never the hash).")
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login name.") var name: String
    @Flag(help: "One JSON document on stdout.") var json = false

    func run() throws {
        try LoginName.validate(name)
        let c = try CommandContext(paths)
        let view = c.view(try c.target(name, for: .show))
        if json { try Output.json(view) } else { print(view.details) }
    }
}
