#if canImport(Glibc)
import Glibc
#endif

/// What the PAM module does, written against `ModuleHost` (the conversation, the PAM items,
/// syslog) so it can be driven by libpam or by a scripted fake. No PAM import here: the adapter
/// maps `ModuleResult` to PAM codes in one place.

/// The host side of one PAM call.
public protocol ModuleHost: AnyObject {
    /// Asks with echo off (PAM_PROMPT_ECHO_OFF); nil when the conversation failed.
    func askSecret(_ prompt: String) -> SecretBytes?
    /// Shows a message (PAM_ERROR_MSG when `isError`, else PAM_TEXT_INFO).
    func tell(_ text: String, isError: Bool)
    /// PAM_AUTHTOK.
    var authToken: SecretBytes? { get set }
    /// PAM_OLDAUTHTOK.
    var oldAuthToken: SecretBytes? { get set }
    /// The login that authenticated successfully through this handle (pam_set_data).
    var authenticatedUser: String? { get set }
    /// True when the real uid of the calling process is 0.
    var callerIsRoot: Bool { get }
    /// PAM_SERVICE (sshd, login, …), for the audit trail.
    var service: String { get }
    func log(_ priority: LogPriority, _ message: String)
}

public enum LogPriority: Sendable {
    case err, warning, notice, info, debug
}

/// Outcomes of the module's hooks; the adapter maps each to one PAM code.
public enum ModuleResult: Equatable, Sendable {
    case success
    case authError
    case userUnknown
    case permissionDenied
    /// Locked by failed logins.
    case maxTries
    case accountExpired
    case authInfoUnavailable
    case newAuthTokenRequired
    case authTokError
    case conversationError
    case serviceError
}

/// Module arguments (`db=`, `config=`, flags), parsed by a pure function.
public struct ModuleOptions: Equatable, Sendable {
    public var db = "/var/lib/pwdir/users"
    public var config = "/etc/security/pwdir.conf"
    public var debug = false
    public var nodelay = false
    public var useFirstPass = false
    public var tryFirstPass = false
    public var useAuthtok = false
    public var silent = false
    /// The `pwdir` binary the module runs for mail (recovery codes and notices).
    public var helper = "/usr/local/sbin/pwdir"
    /// Arguments not understood; the adapter logs them and goes on.
    public var unknown: [String] = []

    public init() {}

    public static func parse(_ arguments: [String]) -> ModuleOptions {
        var o = ModuleOptions()
        for a in arguments {
            switch a {
            case "debug": o.debug = true
            case "nodelay": o.nodelay = true
            case "use_first_pass": o.useFirstPass = true
            case "try_first_pass": o.tryFirstPass = true
            case "use_authtok": o.useAuthtok = true
            case "silent": o.silent = true
            default:
                if a.hasPrefix("db="), a.count > 3 { o.db = String(a.dropFirst(3)) }
                else if a.hasPrefix("config="), a.count > 7 { o.config = String(a.dropFirst(7)) }
                else if a.hasPrefix("pwdir="), a.count > 6 { o.helper = String(a.dropFirst(6)) }
                else { o.unknown.append(a) }
            }
        }
        return o
    }
}

/// The module's behaviour for one hook call.
public struct ModuleLogic {
    public let options: ModuleOptions
    public let host: ModuleHost
    public let now: Int64

    public static let lockedMessage = "This account is locked. Contact your administrator to have it unlocked."
    public static let mustChangeMessage = "You must change your password now: it was set by an administrator."
    public static let changeRequiredMessage = "Your administrator requires you to change your password now."
    public static let noPasswordMessage = "No password has been set for this account yet. Contact your administrator."
    public static let temporaryExpiredMessage = "Your temporary password has expired. Ask your administrator for a new one."
    public static let expiredMessage = "Your password has expired: you must choose a new one now."

    /// What a user is told about a lock; with `until`, when it lifts.
    public static func lockedMessage(until: Int64?) -> String {
        guard let until else { return lockedMessage }
        return "This account is locked after too many failed logins until \(GeneralizedTime.readable(until)). Contact your administrator to unlock it sooner."
    }

    public init(options: ModuleOptions, host: ModuleHost, now: Int64) {
        self.options = options
        self.host = host
        self.now = now
    }

    // MARK: authenticate

    public func authenticate(user: String) -> ModuleResult {
        guard let settings = loadSettings() else { return .authInfoUnavailable }
        let directory = DirectoryFile(path: options.db)
        let tallies = TallyStore(directory: directory)
        // The password first: everything about the account is read afterwards, under its lock,
        // so a reset, a lock or failures made while the user typed all count.
        guard let (password, asked) = obtainPassword() else {
            return options.useFirstPass ? .authError : .conversationError
        }
        if asked && password.isEmpty && settings.recovery {
            return recover(user: user, settings: settings, directory: directory, tallies: tallies)
        }
        let first = check(user, password, settings: settings, directory: directory, tallies: tallies)
        // try_first_pass: a token from above that fails is followed by our own prompt.
        if first == .authError && options.tryFirstPass && !asked, let typed = host.askSecret("Password: ") {
            host.authToken = typed
            return check(user, typed, settings: settings, directory: directory, tallies: tallies)
        }
        return first
    }

    /// One password check, holding the lock of the user's tally (the decoy's for an unknown
    /// user) from the lookup until the result is recorded. One yescrypt hash, one tally write
    /// and one audit line whatever the case, so timing tells nothing; if the lock cannot be
    /// had, nothing is checked (fail closed).
    private func check(_ user: String, _ password: SecretBytes, settings: Settings, directory: DirectoryFile, tallies: TallyStore) -> ModuleResult {
        var known = false
        if LoginName.isValid(user) {
            do { known = try directory.lookup(user) != nil } catch { return unavailable(error) }
        }
        let dummy: String
        do { dummy = try Yescrypt.makeSetting(cost: settings.yescryptCost) } catch {
            host.log(.err, "cannot make a yescrypt setting: \(error.message)")
            return .serviceError
        }
        do {
            return try tallies.withLock(known ? user : TallyStore.decoy) { (session) throws(PwdirError) -> ModuleResult in
                let record = known ? try directory.lookup(user) : nil  // again, under the lock
                let tally = record != nil ? session.read() : FailureTally()
                let matches = Yescrypt.verify(password, against: record?.passwordHash, dummySetting: dummy)
                guard let record else {
                    // The name is not logged: it may be a password typed in the login field.
                    host.log(.notice, "authentication failure; unknown user")
                    try tallies.recordDecoy(now: now, in: session)
                    audit(settings, "login", target: "(unknown)", result: "failed", detail: "unknown user")
                    return .userUnknown
                }
                let state = AccountState(record: record, tally: tally, settings: settings, now: now)
                if let locked = tally.lockedTime, state.lockReason != .failures {
                    host.log(.notice, "lock of \(user) after failed logins (since \(GeneralizedTime.readable(locked))) lifted by unlock_time")
                    audit(settings, "unlock", target: user, result: "ok", detail: "unlock_time passed")
                }
                switch state.lockReason {
                case .administrator:
                    try tallies.recordDecoy(now: now)
                    host.log(.notice, "authentication refused for \(user): account locked by an administrator")
                    audit(settings, "login", target: user, result: "refused", detail: "locked by an administrator")
                    if !options.silent { host.tell(Self.lockedMessage, isError: true) }
                    return .permissionDenied
                case .failures:
                    try tallies.recordDecoy(now: now)
                    host.log(.notice, "authentication refused for \(user): account locked after failed logins")
                    audit(settings, "login", target: user, result: "refused", detail: "locked after failed logins")
                    if !options.silent { host.tell(Self.lockedMessage(until: state.lockedUntil), isError: true) }
                    return .maxTries
                case .noPassword:
                    host.log(.notice, "authentication failure for \(user): no password set")
                    try recordFailure(user, tally: tally, session: session, settings: settings)
                    audit(settings, "login", target: user, result: "failed", detail: "no password set")
                    return .authError
                case .temporaryPasswordExpired, nil:
                    break
                }
                guard matches else {
                    host.log(.notice, "authentication failure for \(user)")
                    try recordFailure(user, tally: tally, session: session, settings: settings)
                    audit(settings, "login", target: user, result: "failed", detail: "wrong password")
                    return .authError
                }
                if state.lockReason == .temporaryPasswordExpired {
                    host.log(.notice, "authentication refused for \(user): temporary password expired unused")
                    host.tell(Self.temporaryExpiredMessage, isError: true)
                    return .authError
                }
                if !tally.isEmpty {
                    // Failures forgotten; a pending recovery code is cancelled (the user knows
                    // the password; only someone who does can get here).
                    try session.write(FailureTally())
                }
                host.authenticatedUser = user
                if options.debug { host.log(.debug, "authenticated \(user)") }
                return .success
            }
        } catch {
            // Busy (a process holding this account's lock) or unwritable: nothing is granted
            // when a failure could not be counted.
            return unavailable(error)
        }
    }

    /// Counts one failed login in `session`'s tally; logs the lock when this failure makes one.
    private func recordFailure(_ user: String, tally: FailureTally, session: TallyStore.Session, settings: Settings) throws(PwdirError) {
        let lockout = Lockout(settings: settings)
        let after = lockout.recordingFailure(tally, now: now)
        try session.write(after)
        if after.lockedTime == now && tally.lockedTime != now {
            let until = lockout.lockedUntil(after).map { " until \(GeneralizedTime.readable($0))" } ?? " until an administrator unlocks it"
            host.log(.warning, "account \(user) locked after \(after.failures.count) failed logins\(until)")
            audit(settings, "lock", target: user, result: "ok", detail: "\(after.failures.count) failed logins\(until)")
        }
    }

    /// Counts a failed login outside a check (a wrong current password at passwd).
    private func recordFailure(_ user: String, settings: Settings) {
        let tallies = TallyStore(directory: DirectoryFile(path: options.db))
        do {
            try tallies.withLock(user) { (session) throws(PwdirError) in
                try recordFailure(user, tally: session.read(), session: session, settings: settings)
            }
        } catch {
            host.log(.err, "cannot count the failed login of \(user): \(error.message)")
        }
    }

    /// The password for authenticate: PAM_AUTHTOK with use_first_pass / try_first_pass, else
    /// asked. An asked password is stored as PAM_AUTHTOK for the modules stacked below.
    private func obtainPassword() -> (SecretBytes, asked: Bool)? {
        if options.useFirstPass || options.tryFirstPass, let token = host.authToken { return (token, false) }
        if options.useFirstPass {
            host.log(.err, "use_first_pass given but no password was entered by a module above")
            return nil
        }
        guard let answer = host.askSecret("Password: ") else { return nil }
        host.authToken = answer
        return (answer, true)
    }

    public static let recoveryMessage = "If this account has a recovery address, a code has been sent to it. Type the code, or press Enter to give up."
    public static let badCodeMessage = "The recovery code is wrong, used up or expired; your password was not changed."
    public static let recoveryAbandonedMessage = "No code typed: your password was not changed."

    /// Self-service recovery, started by an empty answer at `Password: ` (recovery = yes).
    /// Every login sees the same words and costs the same: the helper is started for all (it
    /// decides, detached, whether a code goes out), one yescrypt hash checks the code under
    /// the account's lock, and a refusal writes one tally and one audit line. The code is
    /// checked again, and spent, under the lock when the new password is stored.
    private func recover(user: String, settings: Settings, directory: DirectoryFile, tallies: TallyStore) -> ModuleResult {
        host.tell(Self.recoveryMessage, isError: false)
        runHelper("recovery-request", user)
        guard let typed = host.askSecret("Recovery code: ") else { return .conversationError }
        let code = RecoveryCode.normalize(typed)
        if code.isEmpty {
            // Giving up costs no try and counts no failure; the same for every login.
            host.tell(Self.recoveryAbandonedMessage, isError: true)
            return .authError
        }
        var known = false
        if LoginName.isValid(user) {
            do { known = try directory.lookup(user) != nil } catch { return unavailable(error) }
        }
        let dummy = (try? Yescrypt.makeSetting(cost: settings.yescryptCost)) ?? ""
        let lockName = known ? user : TallyStore.decoy

        /// Under the lock: true when `code` is the account's usable code and the account may
        /// recover; otherwise the attempt is counted (a failed login, one try of the code).
        func verifyCode(_ session: TallyStore.Session, countFailure: Bool) throws(PwdirError) -> (UserRecord, FailureTally)? {
            let record = known ? try directory.lookup(user) : nil
            let tally = record != nil ? session.read() : FailureTally()
            let usable = tally.recovery.flatMap { $0.isUsable(now: now) ? $0.hash : nil }
            let matches = Yescrypt.verify(code, against: usable, dummySetting: dummy)
            let lockReason = record.map { AccountState(record: $0, tally: tally, settings: settings, now: now).lockReason }
            if let record, matches, lockReason != .administrator, lockReason != .failures { return (record, tally) }
            guard countFailure else { return nil }
            if record != nil {
                var after = Lockout(settings: settings).recordingFailure(tally, now: now)
                // A used-up code stays (isUsable refuses it): its send time keeps the
                // one-code-per-recovery_interval limit.
                if var r = after.recovery { r.tries += 1; after.recovery = r }
                try session.write(after)
            } else {
                try tallies.recordDecoy(now: now, in: session)
            }
            return nil
        }

        let verified: Bool
        do {
            verified = try tallies.withLock(lockName) { (session) throws(PwdirError) -> Bool in try verifyCode(session, countFailure: true) != nil }
        } catch { return unavailable(error) }
        guard verified else {
            host.log(.notice, "recovery code rejected for \(known ? user : "an unknown user")")
            audit(settings, "recovery code", target: known ? user : "(unknown)", result: "refused", detail: "wrong, used up or expired code")
            host.tell(Self.badCodeMessage, isError: true)
            return .authError
        }
        guard let first = host.askSecret("New password: "), let second = host.askSecret("Retype new password: ") else { return .conversationError }
        guard first.constantTimeEquals(second) else {
            host.tell("Sorry, the passwords do not match; your password was not changed. The code can be used again.", isError: true)
            return .authError
        }
        do {
            let record = try directory.lookup(user)
            try PasswordPolicy(settings: settings).check(first, user: user, old: nil, record: record, settings: settings)
        } catch {
            host.tell("Password refused: \(error.reasonForUser). The code can be used again.", isError: true)
            return .authError
        }
        let hash: String
        do { hash = try Yescrypt.hashNew(first, cost: settings.yescryptCost) } catch { return .serviceError }
        do {
            let stored = try tallies.withLock(user) { (session) throws(PwdirError) -> Bool in
                // Still this account's usable code, and still not locked (it may have been
                // used by a parallel session, or locked by an administrator meanwhile)?
                guard try verifyCode(session, countFailure: false) != nil else { return false }
                try directory.update { (records) throws(PwdirError) in
                    guard let i = records.firstIndex(where: { $0.login == user }) else { throw .userNotFound(user) }
                    guard !records[i].isAdminLocked else { throw .unsafeFile(path: directory.path, reason: "\(user) was locked meanwhile") }
                    records[i].setPassword(hash: hash, now: now, mustChange: false, remember: settings.remember)
                }
                // The code is spent and the failures forgotten (whoever used it reads the mailbox,
                // so a new request need not wait).
                try session.write(FailureTally())
                return true
            }
            guard stored else {
                host.tell(Self.badCodeMessage, isError: true)
                return .authError
            }
        } catch {
            host.log(.err, "cannot store the recovered password of \(user): \(error.message)")
            host.tell("Your password was not changed (\(error.reasonForUser)).", isError: true)
            return .authError
        }
        host.log(.notice, "password of \(user) changed with a recovery code")
        audit(settings, "recovery code", target: user, result: "ok", detail: "used: password changed")
        runHelper("recovery-notice", user)
        host.authToken = first
        host.authenticatedUser = user
        return .success
    }

    /// Starts `pwdir SUBCOMMAND --background` (which detaches and returns at once) with the
    /// login on stdin: no shell, clean environment, bounded time, the host's signals and
    /// descriptors untouched. The binary must be root's and writable by nobody else.
    private func runHelper(_ subcommand: String, _ user: String) {
        var st = stat()
        guard options.helper.hasPrefix("/"), lstat(options.helper, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG,
              st.st_uid == 0, st.st_mode & 0o022 == 0, st.st_mode & 0o100 != 0 else {
            host.log(.err, "cannot run \(options.helper) for \(subcommand): it must be an executable owned by root that only root can write (module argument pwdir=)")
            return
        }
        let argv = [options.helper, subcommand, "--background", "--db", options.db, "--config", options.config]
        do {
            let r = try Subprocess.run(argv, input: Array((user + "\n").utf8), timeoutMilliseconds: 5000)
            if r.timedOut || (r.exitCode ?? 0) != 0 {
                host.log(.err, "\(options.helper) \(subcommand) failed: \(r.timedOut ? "timed out" : r.diagnostic)")
            }
        } catch {
            host.log(.err, "cannot run \(options.helper): \(error.message)")
        }
    }

    // MARK: acct_mgmt

    public func accountManagement(user: String) -> ModuleResult {
        let (settings, record, tally): (Settings, UserRecord, FailureTally)
        switch loadAccount(user) {
        case let .failure(refusal): return refusal.result
        case let .success(account): (settings, record, tally) = (account.settings, account.record, account.tally)
        }
        let state = AccountState(record: record, tally: tally, settings: settings, now: now)
        switch state.lockReason {
        case .administrator, .failures:
            host.log(.notice, "account \(user) refused: locked (\(state.lockReason!.rawValue))")
            if !options.silent { host.tell(Self.lockedMessage(until: state.lockedUntil), isError: true) }
            return .permissionDenied
        case .noPassword:
            host.log(.notice, "account \(user) refused: no password set")
            if !options.silent { host.tell(Self.noPasswordMessage, isError: true) }
            return .permissionDenied
        case .temporaryPasswordExpired:
            host.log(.notice, "account \(user) refused: temporary password expired unused")
            host.tell(Self.temporaryExpiredMessage, isError: true)
            return .accountExpired
        case nil:
            break
        }
        if record.mustChangePassword {
            host.log(.info, "account \(user) must change its password")
            host.tell(record.isTemporaryPassword ? Self.mustChangeMessage : Self.changeRequiredMessage, isError: true)
            return .newAuthTokenRequired
        }
        if state.passwordExpired {
            host.log(.info, "account \(user): password expired")
            host.tell(Self.expiredMessage, isError: true)
            return .newAuthTokenRequired
        }
        if let expires = state.passwordExpires, settings.warnage > 0, expires - now <= Int64(settings.warnage) * 86400 {
            let days = max(1, (expires - now + 86399) / 86400)
            host.tell("Your password will expire in \(days) day\(days == 1 ? "" : "s").", isError: false)
        }
        return .success
    }

    // MARK: chauthtok

    /// PAM_PRELIM_CHECK: the user exists, is not locked, and (unless root changes it, or the
    /// user just authenticated through this handle for an expired password) knows the
    /// current password.
    public func prepareChange(user: String, changeExpired: Bool) -> ModuleResult {
        let (settings, record, tally): (Settings, UserRecord, FailureTally)
        switch loadAccount(user) {
        case let .failure(refusal): return refusal.result
        case let .success(account): (settings, record, tally) = (account.settings, account.record, account.tally)
        }
        if record.isAdminLocked {
            if !options.silent { host.tell(Self.lockedMessage, isError: true) }
            return .permissionDenied
        }
        if !needsCurrentPassword(user: user, changeExpired: changeExpired) { return .success }
        let lockout = Lockout(settings: settings)
        if lockout.isLocked(tally, now: now) {
            if !options.silent { host.tell(Self.lockedMessage(until: lockout.lockedUntil(tally)), isError: true) }
            return .maxTries
        }
        let current: SecretBytes
        if options.useFirstPass || options.tryFirstPass, let token = host.oldAuthToken {
            current = token
        } else {
            guard let answer = host.askSecret("Current password: ") else { return .conversationError }
            current = answer
        }
        return verifyCurrent(current, record: record, settings: settings)
    }

    /// PAM_UPDATE_AUTHTOK: asks the new password twice (or takes it from a module above with
    /// use_authtok), applies the policy, stores the hash and clears must-change.
    public func updatePassword(user: String, changeExpired: Bool) -> ModuleResult {
        let (settings, record): (Settings, UserRecord)
        switch loadAccount(user) {
        case let .failure(refusal): return refusal.result
        case let .success(account): (settings, record) = (account.settings, account.record)
        }
        let directory = DirectoryFile(path: options.db)
        if record.isAdminLocked { return .permissionDenied }
        if needsCurrentPassword(user: user, changeExpired: changeExpired) {
            // As pam_unix does: the old password is checked again, not trusted from PRELIM.
            guard let old = host.oldAuthToken else { return .authTokError }
            let r = verifyCurrent(old, record: record, settings: settings)
            if r != .success { return r }
        }

        let new: SecretBytes
        if options.useAuthtok {
            guard let token = host.authToken else {
                host.log(.err, "use_authtok given but no new password was entered by a module above")
                return .authTokError
            }
            new = token
        } else {
            guard let first = host.askSecret("New password: ") else { return .conversationError }
            guard let second = host.askSecret("Retype new password: ") else { return .conversationError }
            guard first.constantTimeEquals(second) else {
                host.tell("Sorry, the passwords do not match; your password was not changed.", isError: true)
                return .authTokError
            }
            new = first
        }
        do {
            try PasswordPolicy(settings: settings).check(new, user: user, old: host.oldAuthToken, record: record, settings: settings)
        } catch {
            host.tell("Password refused: \(error.reasonForUser).", isError: true)
            return .authTokError
        }
        do {
            let hash = try Yescrypt.hashNew(new, cost: settings.yescryptCost)
            let found = try directory.update { (records) throws(PwdirError) -> Bool in
                guard let i = records.firstIndex(where: { $0.login == user }) else { return false }
                // Locked by an administrator while the user typed: nothing is stored.
                guard !records[i].isAdminLocked else { throw .unsafeFile(path: directory.path, reason: "\(user) was locked meanwhile") }
                records[i].setPassword(hash: hash, now: now, mustChange: false, remember: settings.remember)
                return true
            }
            guard found else { return .userUnknown }
        } catch {
            host.log(.err, "cannot store the new password of \(user): \(error.message)")
            host.tell("Your password could not be changed (\(error.reasonForUser)). Try again later.", isError: true)
            return .authTokError
        }
        host.authToken = new
        host.log(.notice, "password changed for \(user)")
        let forced = record.mustChangePassword || AccountState(record: record, tally: FailureTally(), settings: settings, now: now).passwordExpired
        audit(settings, "password change", target: user, result: "ok", detail: forced ? "forced change done" : "changed by the user")
        return .success
    }

    private func needsCurrentPassword(user: String, changeExpired: Bool) -> Bool {
        if host.callerIsRoot && !changeExpired { return false }
        if changeExpired && host.authenticatedUser == user { return false }
        return true
    }

    private func verifyCurrent(_ current: SecretBytes, record: UserRecord, settings: Settings) -> ModuleResult {
        let dummy = (try? Yescrypt.makeSetting(cost: settings.yescryptCost)) ?? ""
        guard Yescrypt.verify(current, against: record.passwordHash, dummySetting: dummy) else {
            host.log(.notice, "password change refused for \(record.login): wrong current password")
            // Guessing through passwd counts like guessing at the login prompt.
            recordFailure(record.login, settings: settings)
            host.tell("The current password is wrong; your password was not changed.", isError: true)
            return .authError
        }
        host.oldAuthToken = current
        return .success
    }

    // MARK: Shared

    struct Account {
        var settings: Settings
        var record: UserRecord
        var tally: FailureTally
    }

    struct Refusal: Error {
        var result: ModuleResult
    }

    /// The settings, the user's record and tally — or the result to answer when they cannot be
    /// had (settings or directory unusable, unknown or invalid login).
    private func loadAccount(_ user: String) -> Result<Account, Refusal> {
        guard let settings = loadSettings() else { return .failure(Refusal(result: .authInfoUnavailable)) }
        guard LoginName.isValid(user) else { return .failure(Refusal(result: .userUnknown)) }
        let directory = DirectoryFile(path: options.db)
        do {
            guard let record = try directory.lookup(user) else { return .failure(Refusal(result: .userUnknown)) }
            return .success(Account(settings: settings, record: record, tally: try TallyStore(directory: directory).read(user)))
        } catch {
            return .failure(Refusal(result: unavailable(error)))
        }
    }

    /// One event in the audit trail (and nothing else: syslog lines are written where they happen).
    func audit(_ settings: Settings, _ action: String, target: String?, result: String, detail: String? = nil) {
        let log = AuditLog(settings: settings, directory: DirectoryFile(path: options.db))
        do {
            try log.append(AuditEvent(time: now, actor: "pam:\(host.service)", action: action, target: target, result: result, detail: detail))
        } catch {
            host.log(.err, "cannot write the audit trail: \(error.message)")
        }
    }

    private func loadSettings() -> Settings? {
        do {
            let (settings, warnings) = try Settings.load(path: options.config)
            for w in warnings { host.log(.warning, w) }
            return settings
        } catch {
            host.log(.err, error.message)
            return nil
        }
    }

    private func unavailable(_ error: PwdirError) -> ModuleResult {
        host.log(.err, error.message)
        return .authInfoUnavailable
    }

    private func printable(_ s: String) -> String { PwdirError.printable(s) }
}

extension PwdirError {
    /// The message without the "what to do" tail meant for administrators.
    public var reasonForUser: String {
        switch self {
        case let .weakPassword(reason): return reason
        case let .passwordTooLong(max): return "it is longer than \(max) bytes"
        case .busy: return "the directory is busy"
        default: return "internal error"
        }
    }
}
