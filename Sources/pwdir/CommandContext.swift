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
        self.settings = settings
        store = FileAccountStore(path: paths.directory)
        auditor = Auditor(log: AuditLog(settings: settings, directoryPath: paths.directory), directoryPath: paths.directory)
        authority = try Authority.resolve(store: store, auditor: auditor)
        now = systemNow()
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
