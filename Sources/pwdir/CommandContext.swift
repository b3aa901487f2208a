import PwdirCore

/// What one run of a command needs, worked out once: where the files are, the settings (read
/// once; a broken file is an error, never a silent fallback), the store, who acts and the audit
/// trail, and the time.
struct CommandContext {
    let paths: Paths
    let settings: Settings
    let store: AccountStore
    let auditor: Auditor
    let authority: Authority
    let now: Int64

    init(_ options: PathOptions) throws(PwdirError) {
        paths = options.paths
        let (settings, warnings) = try Settings.load(path: paths.settings)
        for w in warnings { Output.warn(w) }
        store = try Stores.open(settings, paths: paths)
        // The LDAP server's password policy is what happens there: it wins over pwdir.conf's.
        self.settings = store.effectiveSettings(settings)
        auditor = Auditor(settings: settings, paths: paths)
        authority = try Authority.resolve(store: store, auditor: auditor)
        now = systemNow()
    }

    /// Refuses a command that works on the flat file only (`why`: what to do instead).
    func requireFileStore(_ command: String, _ why: String) throws(PwdirError) {
        if settings.store == .ldap { throw .notAllowed("'pwdir \(command)' works on the flat file, and pwdir.conf says store = ldap; \(why)") }
    }

    /// The record of `login`, or `.userNotFound`.
    func record(_ login: String) throws(PwdirError) -> UserRecord {
        guard let r = try store.record(login) else { throw .userNotFound(login) }
        return r
    }

    /// The record of `login` once the actor may do `action` to it: a refusal is recorded and
    /// thrown first, then `.userNotFound` (a manager learns nothing of logins outside the team).
    func target(_ login: String, for action: Action) throws(PwdirError) -> UserRecord {
        let target = try store.record(login)
        try authority.require(action, on: target, targetName: login)
        guard let target else { throw .userNotFound(login) }
        return target
    }

    /// The record and state of `login` as the commands show them.
    func view(_ record: UserRecord) -> UserView {
        UserView(record, tally: store.tally(record.login), settings: settings, now: now)
    }
}
