/// What an account store must answer, for the module's hooks and for the commands alike: find
/// accounts, authenticate and count, say an account's state, set passwords, lock and unlock,
/// list, change records, keep recovery codes. The flat file (`FileAccountStore`) is the first;
/// a second store needs no change to hook logic or commands.
public protocol AccountStore: AnyObject {
    /// Where the accounts are, for messages and the audit trail (a path, a URI).
    var location: String { get }
    /// `settings` with what the store itself decides put in (an LDAP server's password policy
    /// says when accounts lock and unlock); the file store changes nothing.
    func effectiveSettings(_ settings: Settings) -> Settings

    // MARK: Reading

    /// One account, or nil.
    func record(_ login: String) throws(PwdirError) -> UserRecord?
    /// Every account, sorted by login.
    func allRecords() throws(PwdirError) -> [UserRecord]
    /// Every account in login order, one at a time (a store may hold them all or not). With
    /// `needle`, accounts none of whose values can contain it (without regard to case) may be
    /// skipped; the caller still filters exactly.
    func forEachRecord(containing needle: String?, _ body: (UserRecord) throws(PwdirError) -> Void) throws(PwdirError)
    /// The failed and in-flight attempts of an account.
    func tally(_ login: String) -> TallyReading
    /// The logins that have a tally at all, or nil when the store cannot list them: a batch of
    /// new accounts asks `tally` only for those.
    func loginsWithTallies() -> Set<String>?

    // MARK: The login path

    /// Checks `password` for `login` and counts the attempt: one yescrypt hash whatever the
    /// case (unknown, locked and wrong cost the same), never under a lock.
    /// `settling` says what the verdict does to the account's failures (see `PasswordSettlement`).
    func authenticate(_ login: String, password: SecretBytes, settings: Settings, now: Int64, settling: PasswordSettlement) -> AuthenticationOutcome
    /// The second step of a login with a second factor: checks a TOTP code (six digits) or one
    /// of the second factor's recovery codes, and settles the whole login as one attempt —
    /// a success only when `passwordMatched` too, else one failure — so a wrong password and a
    /// wrong code cost and count the same. An accepted code is recorded as used in the same
    /// locked step that checked it: a TOTP step is never accepted twice, a recovery code is
    /// spent. A name that is not an account costs the same work, on the decoy.
    func verifySecondFactor(_ login: String, code: SecretBytes, passwordMatched: Bool, settings: Settings, now: Int64) -> SecondFactorOutcome
    /// Checks a typed recovery code like a password (one hash, counted); a code that checks out
    /// is claimed by this session until `finishRecovery`.
    func claimRecoveryCode(_ login: String, code: SecretBytes, settings: Settings, now: Int64) -> RecoveryClaimOutcome
    /// Lets go of a claimed code unspent (the new password was refused; the code may be typed again).
    func releaseRecoveryClaim(_ login: String, claim: RecoveryClaim)
    /// Stores the new password of a recovery whose code this session claimed, and spends the code.
    func finishRecovery(_ login: String, claim: RecoveryClaim, password: SecretBytes, settings: Settings, now: Int64) throws(PwdirError)
    /// Keeps a new recovery code's hash (`.rateLimited` when one was sent too recently).
    func storeRecoveryCode(_ login: String, hash: String, settings: Settings, now: Int64) throws(PwdirError)
    /// Forgets the recovery code with this hash (its mail could not be sent).
    func dropRecoveryCode(_ login: String, hash: String) throws(PwdirError)

    // MARK: Changes

    /// Creates an empty store of the given layout (2, the newest, for the file store);
    /// `.directoryExists` if there is one.
    func create(format: Int) throws(PwdirError)
    /// Brings a store of an older layout to the newest in one step: how many accounts it holds,
    /// or nil when it was of the newest already.
    func migrate() throws(PwdirError) -> Int?
    /// Adds an account (`.userExists` if its login, or one differing only in letter case, is
    /// taken); failures recorded under that login before now never count for it. `completing`
    /// finishes the record under the writers' lock (numbers chosen there cannot be chosen by
    /// another writer at the same time).
    func add(_ record: UserRecord, now: Int64, completing: (inout UserRecord) throws(PwdirError) -> Void) throws(PwdirError)
    /// Read-change-write of one account; `.userNotFound` if there is none.
    @discardableResult
    func update<T>(_ login: String, _ change: (inout UserRecord) throws(PwdirError) -> T) throws(PwdirError) -> T
    /// Read-change-write of every account at once (adding, removing, editing), atomically: an
    /// import, a batch of new passwords.
    @discardableResult
    func updateAll<T>(_ change: (inout [UserRecord]) throws(PwdirError) -> T) throws(PwdirError) -> T
    /// Sets a password: by its user (`.user`, after they proved the current one) or by an
    /// administrator (which also lifts a lock from failed logins). Hashes before any lock.
    @discardableResult
    func setPassword(_ login: String, to password: SecretBytes, by setter: PasswordSetter, settings: Settings, now: Int64) throws(PwdirError) -> PasswordReport
    /// Lifts an administrator's lock and a lock from failed logins, and forgets the failures, in
    /// one step that cannot be left half done.
    @discardableResult
    func unlock(_ login: String, settings: Settings, now: Int64) throws(PwdirError) -> UnlockReport
    /// Sets the failures of an account moved from another store (its failure times and the
    /// time of a lock from them) under the account's reset `generation`, replacing what it had.
    func restoreFailures(_ login: String, failures: [Int64], lockedTime: Int64?, generation: UInt64) throws(PwdirError)
    /// Removes an account, its tally and its second factor.
    func remove(_ login: String) throws(PwdirError)

    // MARK: Second factor

    /// True when the account has a second factor (or whether it has cannot be told: the login
    /// then fails closed at the code).
    func hasSecondFactor(_ login: String) -> Bool
    /// The logins that have a second factor (listed once: a batch of new accounts checks none
    /// is left under their logins).
    func loginsWithSecondFactors() -> Set<String>
    /// The account's second factor (nil: none), with its state.
    func secondFactor(_ login: String) throws(PwdirError) -> SecondFactorSummary?
    /// Gives the account a second factor with this key; `.invalidValue` when it has one.
    func enrolSecondFactor(_ login: String, key: SecretBytes, now: Int64) throws(PwdirError)
    /// Replaces the recovery codes of the account's second factor (yescrypt hashes, each with
    /// its tag); every earlier code stops working.
    func setSecondFactorRecoveryCodes(_ login: String, _ codes: [TotpRecoveryCode]) throws(PwdirError)
    /// Removes the account's second factor; false when it had none.
    func removeSecondFactor(_ login: String) throws(PwdirError) -> Bool
}

/// What a second factor looks like from outside: never its key or hashes.
public struct SecondFactorSummary: Equatable, Sendable {
    public var created: Int64
    /// When a code was last accepted (nil: never).
    public var lastUsed: Int64?
    public var recoveryCodesLeft: Int
    public var recoveryCodes: Int

    public init(created: Int64, lastUsed: Int64?, recoveryCodesLeft: Int, recoveryCodes: Int) {
        self.created = created
        self.lastUsed = lastUsed
        self.recoveryCodesLeft = recoveryCodesLeft
        self.recoveryCodes = recoveryCodes
    }
}

/// What a password's verdict does to the account's failures.
public enum PasswordSettlement: Equatable, Sendable {
    /// A login: a wrong password is a failure, a right one clears the failures.
    case login
    /// A wrong password is a failure; a right one clears nothing (a user with a second factor
    /// changing their password: the password alone is not a whole login).
    case keepingFailures
    /// Neither verdict is settled: `verifySecondFactor` counts the login once, after the code.
    case deferred
}

/// What checking a second-factor code came to.
public enum SecondFactorOutcome: Equatable, Sendable {
    /// The password and the code were right, and the code is recorded; `recoveryCodesLeft` when
    /// it was a recovery code.
    case success(UserRecord, recoveryCodesLeft: Int?)
    /// The password or the code was wrong (`replay`: the password was right and the code one
    /// already used), counted as one failed login; `lock` when this failure locked the account.
    case wrongCode(lock: NewLock?, replay: Bool)
    case notEnrolled
    /// Refused before the code mattered, or it could not be checked or recorded (a full disk):
    /// as a password check would be.
    case refused(AuthenticationOutcome)
}

/// A tally as a store read it.
public enum TallyReading: Equatable, Sendable {
    case tally(Tally)
    /// It cannot be read safely: the account counts as locked.
    case damaged(String)
    case unavailable(PwdirError)

    public var tally: Tally? {
        if case let .tally(t) = self { return t }
        return nil
    }
}

/// What one password check came to.
public enum AuthenticationOutcome: Equatable, Sendable {
    case success(UserRecord)
    /// Wrong password, counted; `lock` when this failure locked the account.
    case wrongPassword(lock: NewLock?)
    /// The account has no password yet; counted like a wrong one.
    case noPassword(lock: NewLock?)
    case unknownUser
    /// Refused before the password mattered, not counted.
    case locked(LockReason, until: Int64?)
    /// The account's tally cannot be read safely (why): it counts as locked.
    case damagedTally(String)
    /// The right password, but a temporary one nobody used in time.
    case temporaryPasswordExpired
    /// `deny` attempts are already in flight for this account.
    case tooManyInFlight
    /// This attempt was in flight so long (its process stopped) that it was counted as a failure.
    case attemptExpired
    case unavailable(PwdirError)
}

/// A lock made by the failure just counted.
public struct NewLock: Equatable, Sendable {
    public var failures: Int
    public var until: Int64?

    public init(failures: Int, until: Int64?) {
        self.failures = failures
        self.until = until
    }
}

/// What checking a recovery code came to.
public enum RecoveryClaimOutcome: Equatable, Sendable {
    case claimed(RecoveryClaim)
    /// Wrong, used up, expired or held by another session; counted as a failed login.
    case refused
    case unknownUser
    case unavailable(PwdirError)
}

/// A recovery code this session checked and holds.
public struct RecoveryClaim: Equatable, Sendable {
    public var nonce: UInt64
    public var codeHash: String

    public init(nonce: UInt64, codeHash: String) {
        self.nonce = nonce
        self.codeHash = codeHash
    }
}

/// Who sets a password.
public enum PasswordSetter: Equatable, Sendable {
    /// The user, through the module, after proving the current password (or a recovery code).
    case user
    /// An administrator: a temporary password unless `mustChange` is false; `weak` records an
    /// --allow-weak override.
    case administrator(mustChange: Bool, weak: Bool)
}

/// What setting a password did besides.
public struct PasswordReport: Equatable, Sendable {
    /// A lock from failed logins was lifted.
    public var liftedFailureLock = false
    /// An administrator's lock is still there (it stays until `pwdir unlock`).
    public var stillLockedByAdministrator = false
    /// The change was required (must-change or expired) and is now done.
    public var forcedChangeDone = false

    public init() {}
}

/// What an unlock lifted.
public struct UnlockReport: Equatable, Sendable {
    /// Who had locked it by hand, if someone had.
    public var administratorLockBy: String?
    public var wasAdministratorLocked = false
    /// Failed logins that had locked it, if they had.
    public var failureLock: Int?
    /// Failures forgotten that had not locked it.
    public var failuresCleared = 0
    public var tallyWasDamaged = false

    public init() {}
}

extension AccountStore {
    public func effectiveSettings(_ settings: Settings) -> Settings { settings }

    /// A password check that settles the login.
    public func authenticate(_ login: String, password: SecretBytes, settings: Settings, now: Int64) -> AuthenticationOutcome {
        authenticate(login, password: password, settings: settings, now: now, settling: .login)
    }

    /// Adds an account as it is.
    public func add(_ record: UserRecord, now: Int64) throws(PwdirError) {
        try add(record, now: now) { (_) throws(PwdirError) in }
    }
}
