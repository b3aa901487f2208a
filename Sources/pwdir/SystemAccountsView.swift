import ArgumentParser
import PwdirCore

/// The CLI's side of publishing accounts to the system (systemd userdb records in `userdb_dir`):
/// numbers chosen before a change, records written after it. The directory is the truth; if
/// the records cannot be written after a change that was saved, the command says so in one
/// line, names `pwdir userdb sync` and exits 1.
extension CommandContext {
    var userdb: UserdbFolder? { settings.userdbDir.map(UserdbFolder.init(path:)) }

    /// The uid numbers the directory's users hold and the system's accounts, for choosing new
    /// numbers. `askEach`: also ask NSS number by number (one account; not for an import).
    func posixIDs(askEach: Bool = true) throws(PwdirError) -> PosixIDs {
        var held: [UInt32: String] = [:]
        try store.forEachRecord(containing: UserRecord.Key.uidNumber + "=") { (r) throws(PwdirError) in
            if let uid = r.uidNumber { held[uid] = r.login }
        }
        return posixIDs(held: held, askEach: askEach)
    }

    /// The same, from records already read (an import's, under the writers' lock), asking NSS
    /// only by enumeration.
    func posixIDs(of records: [UserRecord]) -> PosixIDs {
        posixIDs(held: Dictionary(records.compactMap { r in r.uidNumber.map { ($0, r.login) } }, uniquingKeysWith: { _, last in last }), askEach: false)
    }

    private func posixIDs(held: [UInt32: String], askEach: Bool) -> PosixIDs {
        PosixIDs(range: settings.uidMin...settings.uidMax, held: held, system: SystemAccounts.enumerate(), askEach: askEach)
    }

    /// After a saved change: `body` updates the published records; a failure is reported (the
    /// change stays) and the command ends with status 1 after its own output.
    func publish(_ body: (UserdbFolder) throws(PwdirError) -> Void) -> Bool {
        guard let userdb else { return true }
        do throws(PwdirError) {
            try body(userdb)
            return true
        } catch {
            Output.warn("the change is saved, but the system's account records in \(userdb.path) are not: \(error.message); then run 'pwdir userdb sync'")
            return false
        }
    }

    /// Publishes `record` as the change left it (withdrawn when it has no uid), `previous` its
    /// state before.
    func publish(_ record: UserRecord, previous: UserRecord?) -> Bool {
        publish { (folder) throws(PwdirError) in try folder.publish(record, previous: previous) }
    }

    /// Withdraws a removed account.
    func withdraw(_ removed: UserRecord) -> Bool {
        publish { (folder) throws(PwdirError) in try folder.withdraw(removed) }
    }
}

/// The POSIX attributes asked for (options of `user add`/`modify`, columns of `import`), as
/// given: an empty value clears (modify) or means the default (add).
struct PosixRequest {
    var uid: String?
    var gid: String?
    var home: String?
    var shell: String?
    var field = (uid: "--uid", gid: "--gid", home: "--home", shell: "--shell")

    var isEmpty: Bool { uid == nil && gid == nil && home == nil && shell == nil }

    func uidNumber() throws(PwdirError) -> UInt32? { try uid.flatMap { $0.isEmpty ? nil : $0 }.map { (v) throws(PwdirError) in try PosixAccount.number(v, field: field.uid) } }
    func gidNumber() throws(PwdirError) -> UInt32? { try gid.flatMap { $0.isEmpty ? nil : $0 }.map { (v) throws(PwdirError) in try PosixAccount.number(v, field: field.gid) } }

    func check() throws(PwdirError) {
        _ = try uidNumber()
        _ = try gidNumber()
        if let home, !home.isEmpty { try PosixAccount.validatePath(home, field: field.home) }
        if let shell, !shell.isEmpty { try PosixAccount.validatePath(shell, field: field.shell) }
    }

    /// A new account's attributes: the uid given (checked) or the next free one, a private group
    /// unless a gid is given, home and shell from the settings unless given. A login the system
    /// already knows (in /etc/passwd, LDAP) gets none: the system's account is the one used, pwdir
    /// keeps its password; the note returned says so.
    func assign(to record: inout UserRecord, ids: inout PosixIDs, settings: Settings) throws(PwdirError) -> String? {
        let login = record.login
        if let existing = ids.systemAccount(named: login) {
            if try uidNumber() != nil {
                throw .invalidValue(field: field.uid, reason: "'\(login)' is already an account of the system (uid \(existing)); pwdir publishes no second one: leave the uid out")
            }
            return "'\(login)' is already an account of the system (uid \(existing)): pwdir keeps its password, the system keeps the account"
        }
        if PosixAccount.isNumeric(login) {
            // a valid login, but systemd reads it as a uid (and its file would clash with a UID link)
            if try uidNumber() != nil {
                throw .invalidValue(field: field.uid, reason: "a login of digits only ('\(login)') cannot be published as an account of the system (it reads as a uid); leave the uid out")
            }
            return "'\(login)' is digits only, which the system reads as a uid: pwdir keeps its password but publishes no account for it"
        }
        let uid: UInt32
        if let given = try uidNumber() { try ids.claim(given, for: login, field: field.uid); uid = given } else { uid = try ids.allocate(for: login) }
        record.uidNumber = uid
        var note: String?
        var gid = try gidNumber() ?? uid
        if gid == uid, let taken = ids.systemGroup(named: login) {
            // A group of the system has the login's name (adm, staff...): no private group, and
            // never that group (its members have its rights): the group `users`, as useradd does.
            guard let users = ids.usersGroup else {
                throw .invalidValue(field: field.gid, reason: "a group named '\(login)' exists already (gid \(taken)); give the user's group with --gid")
            }
            gid = users
            note = "a group named '\(login)' exists already (gid \(taken)): '\(login)' is in the group users (gid \(users)) instead of a private group"
        }
        try ids.checkGroup(gid, for: login, uid: uid, field: field.gid)
        record.gidNumber = gid
        record.homeDirectory = home.flatMap { $0.isEmpty ? nil : $0 } ?? PosixAccount.home(base: settings.homeBase, login: login)
        record.loginShell = shell.flatMap { $0.isEmpty ? nil : $0 } ?? settings.defaultShell
        return note
    }

    /// Applies --uid, --gid, --home and --shell to an existing `record` (`user modify`); an
    /// empty --uid stops publishing the account (its POSIX attributes are cleared).
    /// Returns a note for the administrator, if any.
    @discardableResult
    func apply(to record: inout UserRecord, ids: inout PosixIDs, settings: Settings) throws(PwdirError) -> String? {
        if uid == "" {
            for key in [UserRecord.Key.uidNumber, UserRecord.Key.gidNumber, UserRecord.Key.homeDirectory, UserRecord.Key.loginShell] { record[key] = nil }
            return nil
        }
        guard let current = record.uidNumber else {
            // Not published before: numbers, home and shell as for a new account.
            return try assign(to: &record, ids: &ids, settings: settings)
        }
        if let existing = ids.systemAccount(named: record.login) {
            throw .invalidValue(field: field.uid, reason: "'\(record.login)' is also an account of the system (uid \(existing)); remove one of the two first")
        }
        let privateGroup = (record.gidNumber ?? current) == current
        if let given = try uidNumber(), given != current {
            try ids.claim(given, for: record.login, field: field.uid)
            record.uidNumber = given
        }
        let uid = record.uidNumber!
        if let gid = try gidNumber() {
            try ids.checkGroup(gid, for: record.login, uid: uid, field: field.gid)
            record.gidNumber = gid
        } else if gid == "" || (gid == nil && privateGroup) {
            try ids.checkGroup(uid, for: record.login, uid: uid, field: field.gid)  // the private group follows the uid
            record.gidNumber = uid
        }
        if let home { record.homeDirectory = home.isEmpty ? PosixAccount.home(base: settings.homeBase, login: record.login) : home }
        if let shell { record.loginShell = shell.isEmpty ? settings.defaultShell : shell }
        return nil
    }

}

/// `pwdir userdb sync`: every published record rewritten from the directory (at boot: /run is
/// empty then), pwdir's records of users that are gone removed.
struct UserdbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "userdb",
        abstract: "Publish the directory's accounts to the system (systemd userdb records).",
        subcommands: [UserdbSync.self])
}

struct UserdbSync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Rewrite every userdb record in userdb_dir from the directory (run at boot by pwdir-userdb.service).")
    @OptionGroup var paths: PathOptions

    func run() throws {
        try Actor.requireRootItself("publishes the accounts", command: "userdb sync")
        let c = try CommandContext(paths)
        try c.authority.require(.userdbSync)
        guard let folder = c.userdb else {
            throw PwdirError.invalidValue(field: "userdb_dir", reason: "publishing is off in \(c.paths.settings) (userdb_dir = off); set userdb_dir to a folder such as /run/userdb")
        }
        let n = try c.authority.perform(.userdbSync, target: nil, detail: folder.path, outcome: { (n: Int) in "\(folder.path): \(n) accounts" }) { () throws(PwdirError) in
            try folder.sync(c.store.allRecords())
        }
        print("published \(n) account\(n == 1 ? "" : "s") in \(folder.path)")
    }
}
