/// What the PAM module does, hook by hook (one file each: authenticate, recovery, account,
/// password change), written against `ModuleHost` so libpam or a scripted fake can drive it,
/// and against `AccountStore` so the flat file, the root-only helper or another store can hold
/// the accounts. The adapter maps `ModuleResult` to PAM codes in one place.
public struct ModuleLogic {
    public let options: ModuleOptions
    public let host: ModuleHost
    /// The time, read when a decision needs it (a conversation can take minutes): the system
    /// clock in the module, a fixed one in tests.
    let clock: @Sendable () -> Int64
    public var now: Int64 { clock() }
    let store: AccountStore
    /// The earliest a typed recovery code's verdict is given, counted from the request (tests
    /// that do not measure timing set 0).
    public var recoveryAnswerFloorMilliseconds = 1500

    /// `store`: the accounts (nil: the flat file at `options.db`); `now`: a fixed time.
    public init(options: ModuleOptions, host: ModuleHost, now: Int64, store: AccountStore? = nil) {
        self.init(options: options, host: host, clock: { now }, store: store)
    }

    /// The settings as read when the store was chosen (nil: a store was given), so that a hook
    /// reads pwdir.conf once.
    let loaded: Result<(Settings, warnings: [String]), PwdirError>?

    public init(options: ModuleOptions, host: ModuleHost, clock: @escaping @Sendable () -> Int64, store: AccountStore? = nil) {
        self.options = options
        self.host = host
        self.clock = clock
        if let store {
            self.store = store
            loaded = nil
        } else {
            let read = Result { () throws(PwdirError) in try Settings.load(path: options.config) }
            self.store = Self.store(for: options, settings: try? read.get().0)
            loaded = read
        }
    }

    /// The store pwdir.conf names: the flat file at `db=`, or pwdird for store = ldap (the
    /// module never talks LDAP itself). Settings that cannot be read leave the file store, and
    /// the hook then fails on them as it would.
    static func store(for options: ModuleOptions, settings: Settings?) -> AccountStore {
        if let settings, settings.store == .ldap {
            return PwdirdClientStore(socket: settings.pwdirdSocket, knownFolder: Paths(directory: options.db, settings: options.config).known)
        }
        return FileAccountStore(path: options.db)
    }

    /// The module runs in a process without root (a screen locker) and the directory is not its
    /// own: the accounts are out of its reach, and `pwdir-chkpwd` answers for the caller's own
    /// account. (A directory the caller owns it reads itself.)
    var withoutRoot: Bool {
        guard Sys.effectiveUID != 0 else { return false }
        guard let st = (try? Sys.lstatIfExists(options.db)) ?? nil else { return true }
        return st.st_uid != Sys.effectiveUID
    }

    var paths: Paths { Paths(directory: options.db, settings: options.config) }

    /// The settings, or nil (logged) when they cannot be used.
    func loadSettings() -> Settings? {
        do {
            let (settings, warnings) = try (loaded ?? Result { () throws(PwdirError) in try Settings.load(path: options.config) }).get()
            for w in warnings { host.log(.warning, w) }
            return store.effectiveSettings(settings)
        } catch {
            host.log(.err, error.message)
            return nil
        }
    }

    /// What to answer when the settings or the directory cannot be used (logged): pwdir's own
    /// users fail closed (PAM_AUTHINFO_UNAVAIL), while a name pwdir has never seen — root, a
    /// local account — is not its business (PAM_USER_UNKNOWN), so the stack goes on to pam_unix
    /// and a broken directory never locks the host out. Its own users are known by their tally,
    /// which lives apart from the directory.
    func unavailable(_ error: PwdirError?, user: String) -> ModuleResult {
        if let error { host.log(.err, error.message) }
        if case .tallyDamaged = error { return .authInfoUnavailable }
        guard LoginName.isValid(user) else { return .userUnknown }
        let tally = (try? Sys.lstatIfExists(paths.tallies + "/" + user)) ?? nil
        let known = (try? Sys.lstatIfExists(paths.known + "/" + user)) ?? nil  // an LDAP host's
        let unreadable = withoutRoot  // the tallies are out of reach: assume the name is ours
        if tally != nil || known != nil || unreadable { return .authInfoUnavailable }
        // No tally (a full disk kept it from being made): the directory, if it can be read, says.
        if case .some(.some) = try? store.record(user) { return .authInfoUnavailable }
        return .userUnknown
    }

    /// One event in the audit trail (and nothing else: syslog lines are written where they happen).
    func audit(_ settings: Settings, _ action: String, target: String?, result: String, detail: String? = nil, id: String? = nil) {
        guard !withoutRoot else { return }  // without root, the helper keeps the trail
        let log = AuditLog(settings: settings, directoryPath: options.db)
        do {
            try log.append(AuditEvent(time: now, actor: "pam:\(host.service)", action: action, target: target, result: result, detail: detail, id: id))
        } catch {
            host.log(.err, "cannot write the audit trail: \(error.message)")
        }
    }

    /// A name safe to put in a log line (it was typed at a login prompt).
    func shown(_ user: String) -> String { PwdirError.printable(user, limit: 64) }
}
