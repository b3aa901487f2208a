#if canImport(Glibc)
import Glibc
#endif
import PwdirCore

/// The accounts on an OpenLDAP server with the password-policy overlay (slapd + ppolicy): each
/// is `uid=LOGIN,ou=people,BASE` (inetOrgPerson + pwdir's `pwdirAccount`), as `pwdir export
/// --ldif` writes it. The server checks passwords (a bind as the user, with the policy control),
/// counts failures, locks, and replicates all of it; pwdir reads and writes the entries as the
/// service identity (`ldap_bind_dn`), which may test whether a password is set but never read one.
public final class LDAPAccountStore: AccountStore {
    public let server: LDAPServer
    let settings: Settings
    let connection: LDAPConnection
    private var policyCache: (settings: Settings, read: UInt64)?
    /// How long the server's policy is taken as read (pwdird lives long; an administrator may change it).
    static let policySeconds: UInt64 = 60

    public var location: String { server.uris }

    public init(settings: Settings) throws(PwdirError) {
        server = try LDAPServer(settings: settings)
        self.settings = settings
        connection = try LDAPConnection(service: server)
    }


    func dn(_ login: String) -> String { LDIF.dn(of: login, base: server.base) }
    var people: String { LDIF.peopleDN(base: server.base) }

    static let attributes = ["*", "pwdReset", "pwdAccountLockedTime", "pwdFailureTime", "pwdChangedTime", "pwdHistory", "createTimestamp", "entryCSN"]

    // MARK: Entries ↔ records

    struct Read {
        var record: UserRecord
        var tally: Tally
        var csn: String?
        /// The outstanding recovery code (`pwdirRecoveryCode`), which is not part of the record.
        var recovery: RecoveryCode?
        /// The second factor (`pwdirTotp`; `totpDamaged`: there, but unreadable), its state
        /// (`pwdirTotpState`), and the failures of its code step (`pwdirSecondFactorFailure`).
        var totp: TotpEnrolment?
        var totpDamaged = false
        var totpState: TotpState?
        var codeFailures: [Int64] = []
    }

    /// The account at `login`'s DN (nil: none, or an entry whose uid is another spelling).
    func read(_ login: String) throws(PwdirError) -> Read? {
        guard LoginName.isValid(login) else { return nil }
        // Most accounts have a password: one search says so and brings the entry.
        var hasPassword = true
        var found = try connection.search(dn(login), scope: .base, filter: "(userPassword=*)", attributes: Self.attributes)
        if found.isEmpty {
            hasPassword = false
            found = try connection.search(dn(login), scope: .base, filter: "(objectClass=*)", attributes: Self.attributes)
        }
        guard let entry = found.first else { return nil }
        return try decode(entry, hasPassword: hasPassword, expecting: login)
    }

    func decode(_ entry: LDIF.Entry, hasPassword: Bool, expecting login: String? = nil) throws(PwdirError) -> Read? {
        let account: LDIF.Account
        do {
            guard let a = try LDIF.account(entry) else { return nil }
            account = a
        } catch {
            throw .directoryCorrupt(path: server.uris, line: 0, reason: error.text)
        }
        if let login, account.login != login { return nil }
        var record = UserRecord(login: account.login)
        let columns: [(String, String)] = [
            ("full_name", UserRecord.Key.fullName), ("email", UserRecord.Key.mail), ("recovery_email", UserRecord.Key.recoveryMail),
            ("role", UserRecord.Key.role), ("lang", UserRecord.Key.language), ("manager", UserRecord.Key.manager),
            ("uid_number", UserRecord.Key.uidNumber), ("gid_number", UserRecord.Key.gidNumber),
            ("home_directory", UserRecord.Key.homeDirectory), ("login_shell", UserRecord.Key.loginShell),
        ]
        for (column, key) in columns { if let v = account.columns[column] { record[key] = v } }
        if account.columns["no_mailbox"] == "yes" { record.hasNoMailbox = true }
        for a in account.kept {
            if a.name == UserRecord.Key.history { record.setValues(a.name, record.values(a.name) + [a.value]) } else { record[a.name] = a.value }
        }
        if record[UserRecord.Key.created] == nil, let t = entry.values("createTimestamp").first.flatMap(LDIF.time) {
            record[UserRecord.Key.created] = GeneralizedTime.format(t)
        }
        if hasPassword {
            if record.passwordHash == nil { record.passwordHash = UserRecord.heldHash }
        } else {
            record[UserRecord.Key.password] = nil
        }
        let tally = Tally(attempts: account.failures.sorted().map { Tally.Attempt(time: $0) }, lockedTime: account.failureLock, generation: record.resetGeneration)
        let recovery = entry.values("pwdirRecoveryCode").first.flatMap(Self.recoveryCode)
        var read = Read(record: record, tally: tally, csn: entry.values("entryCSN").first, recovery: recovery)
        if let value = entry.values(Self.totpAttribute).first {
            read.totp = Base64.decode(Array(value.utf8)).flatMap { try? TotpCodec.decodeEnrolment($0) }
            read.totpDamaged = read.totp == nil
        }
        read.totpState = entry.values(Self.totpStateAttribute).first.flatMap { Base64.decode(Array($0.utf8)) }.flatMap { try? TotpCodec.decodeState($0) }
        read.codeFailures = entry.values(Self.codeFailureAttribute).compactMap(LDIF.time).sorted()
        // What pwdir shows and counts: the failures of both steps.
        if !read.codeFailures.isEmpty {
            read.tally.attempts = (account.failures + read.codeFailures).sorted().suffix(Tally.capacity).map { Tally.Attempt(time: $0) }
        }
        return read
    }

    /// The attributes `record` has on the server, by lower-cased name (as `pwdir export --ldif`
    /// writes them; the server's own, and the password the server holds, left out).
    func attributes(of record: UserRecord) -> [String: (name: String, values: [String])] {
        var out: [String: (name: String, values: [String])] = [:]
        let text = LDIF.entry(record, tally: nil, locked: false, base: server.base)
        guard let entry = try? LDIF.parse(Array(text.utf8)).first else { return out }
        for (name, value) in entry.attributes {
            let key = name.lowercased()
            if Self.serverKept.contains(key) { continue }
            if key == "userpassword", value == "{CRYPT}" + UserRecord.heldHash { continue }
            out[key, default: (name, [])].values.append(value)
        }
        return out
    }

    /// Attributes the server keeps itself (ppolicy's), never written from a record.
    static let serverKept: Set<String> = ["uid", "pwdhistory", "pwdchangedtime", "pwdfailuretime"]

    /// The modifications that turn `old` into `new` on the server.
    func changes(from old: UserRecord, to new: UserRecord) -> [LDAPChange] {
        let a = attributes(of: old), b = attributes(of: new)
        var out: [LDAPChange] = []
        for key in Set(a.keys).union(b.keys).sorted() {
            let before = a[key]?.values ?? [], after = b[key]?.values ?? []
            if key == "objectclass" {
                for v in after where !before.contains(v) { out.append(LDAPChange(.add, "objectClass", [v])) }
                for v in before where !after.contains(v) && v == "posixAccount" { out.append(LDAPChange(.delete, "objectClass", [v])) }
                continue
            }
            if before != after { out.append(LDAPChange(.replace, b[key]?.name ?? a[key]!.name, after)) }
        }
        // A new password states whether it must be changed (ppolicy may add pwdReset itself).
        if old[UserRecord.Key.password] != new[UserRecord.Key.password], !out.contains(where: { $0.name.lowercased() == "pwdreset" }) {
            out.append(LDAPChange(.replace, "pwdReset", [new.mustChangePassword ? "TRUE" : "FALSE"]))
        }
        // A reset of the failures (an administrator's unlock or new password) clears the server's.
        if new.resetGeneration > old.resetGeneration {
            out.append(LDAPChange(.replace, "pwdFailureTime"))
            out.append(LDAPChange(.replace, Self.codeFailureAttribute))
            if !new.isAdminLocked { out.append(LDAPChange(.replace, "pwdAccountLockedTime")) }
        }
        return out
    }

    func write(_ login: String, _ changes: [LDAPChange], csn: String?) throws(PwdirError) {
        guard !changes.isEmpty else { return }
        let answer = try connection.modify(dn(login), changes, relax: true, assertion: csn.map { "(entryCSN=\($0))" })
        switch answer.code {
        case LDAPCode.success: return
        case LDAPCode.assertionFailed: throw .changedMeanwhile(dn(login))
        case LDAPCode.noSuchObject: throw .userNotFound(login)
        default: throw connection.failure(answer.code, "changing \(dn(login))")
        }
    }

    // MARK: Reading

    public func record(_ login: String) throws(PwdirError) -> UserRecord? { try read(login)?.record }

    /// Every account with its tally, sorted by login.
    func readAll(filter: String = "(objectClass=pwdirAccount)") throws(PwdirError) -> [Read] {
        let entries = try connection.search(people, scope: .oneLevel, filter: filter, attributes: Self.attributes)
        let withPassword = Set(try connection.search(people, scope: .oneLevel, filter: "(&\(filter)(userPassword=*))", attributes: ["1.1"]).map { $0.dn.lowercased() })
        var out: [Read] = []
        for e in entries {
            if let r = try decode(e, hasPassword: withPassword.contains(e.dn.lowercased())) { out.append(r) }
        }
        return out.sorted { $0.record.login < $1.record.login }
    }

    public func allRecords() throws(PwdirError) -> [UserRecord] { try readAll().map(\.record) }

    public func forEachRecord(containing needle: String?, _ body: (UserRecord) throws(PwdirError) -> Void) throws(PwdirError) {
        var filter = "(objectClass=pwdirAccount)"
        if let needle, !needle.isEmpty {
            let n = Self.escape(needle)
            filter = "(&(objectClass=pwdirAccount)(|(uid=*\(n)*)(cn=*\(n)*)(mail=*\(n)*)(pwdirRecoveryMail=*\(n)*)))"
        }
        for r in try readAll(filter: filter) { try body(r.record) }
    }

    /// RFC 4515 escaping of a value inside a filter.
    static func escape(_ value: String) -> String {
        String(decoding: Array(value.utf8).flatMap { b -> [UInt8] in
            [0x2A, 0x28, 0x29, 0x5C, 0x00].contains(b) ? Array(("\\" + String(b, radix: 16).leftPadded(2)).utf8) : [b]
        }, as: UTF8.self)
    }

    public func tally(_ login: String) -> TallyReading {
        do {
            guard let r = try read(login) else { return .tally(Tally()) }
            return .tally(r.tally)
        } catch {
            return .unavailable(error)
        }
    }

    public func loginsWithTallies() -> Set<String>? { nil }

    /// The password policy on the server (its `cn=default,ou=policies` entry) in place of
    /// pwdir.conf's lockout and age settings, so what pwdir shows is what the server does.
    public func effectiveSettings(_ s: Settings) -> Settings {
        if let policyCache, monotonicNanoseconds() - policyCache.read < Self.policySeconds * 1_000_000_000 { return policyCache.settings }
        var out = s
        guard let entry = try? connection.search(LDIF.policyDN(base: server.base), scope: .base, filter: "(objectClass=pwdPolicy)", attributes: ["*"]).first else { return s }
        // Within pwdir.conf's own ranges, whatever the entry says.
        func number(_ name: String, _ range: ClosedRange<Int64>) -> Int64? {
            entry.values(name).first.flatMap { Int64($0) }.map { min(max($0, range.lowerBound), range.upperBound) }
        }
        let tenYears: Int64 = 10 * 365 * 86400
        if entry.values("pwdLockout").first?.uppercased() == "FALSE" { out.deny = 0 } else if let n = number("pwdMaxFailure", 0...1000) { out.deny = Int(n) }
        if let n = number("pwdLockoutDuration", 0...tenYears) { out.unlockTime = n }
        if let n = number("pwdFailureCountInterval", 0...tenYears) { out.failInterval = n }
        // Whole days, never later than the server's expiry (a part of a day is dropped).
        if let n = number("pwdMaxAge", 0...(36500 * 86400)) { out.maxage = n == 0 ? 0 : max(1, Int(n / 86400)) }
        if let n = number("pwdExpireWarning", 0...(36500 * 86400)), n > 0 { out.warnage = Int(n / 86400) }
        if let n = number("pwdInHistory", 0...400) { out.remember = Int(n) }
        policyCache = (out, monotonicNanoseconds())
        return out
    }

    // MARK: The login path

    /// One hash's worth of work when the server did none (an unknown name, a locked account),
    /// so that no answer comes sooner than a checked password's.
    func decoyHash(_ password: SecretBytes, settings: Settings) {
        if let dummy = try? Yescrypt.makeSetting(cost: settings.yescryptCost) { _ = Yescrypt.verify(password, against: nil, dummySetting: dummy) }
    }

    public func authenticate(_ login: String, password: SecretBytes, settings: Settings, now: Int64, settling: PasswordSettlement) -> AuthenticationOutcome {
        let s = effectiveSettings(settings)
        let before: Read?
        do { before = try read(login) } catch { return .unavailable(error) }
        guard let before else {
            decoyHash(password, settings: s)
            return .unknownUser
        }
        if before.record.isAdminLocked {
            decoyHash(password, settings: s)
            return .locked(.administrator, until: nil)
        }
        // An empty password is never sent (a server may take it for an anonymous bind): a
        // random one stands in, which the server counts as the wrong password it is.
        let sent: SecretBytes
        do { sent = password.isEmpty ? try SecretBytes.standIn() : password } catch { return .unavailable(error) }
        let answer: LDAPAnswer
        do { answer = try LDAPConnection.bind(server, dn: dn(login), password: sent) } catch { return .unavailable(error) }
        switch (answer.code, answer.policy) {
        case (LDAPCode.success, _), (LDAPCode.invalidCredentials, .passwordExpired?):
            // Proven (an expired password too: the account step asks for a new one).
            if AccountState(record: before.record, tally: Tally(generation: before.record.resetGeneration), settings: s, now: now).lockReason == .temporaryPasswordExpired {
                return .temporaryPasswordExpired
            }
            // The server's verdict is kept with the record the account step reads next: it may
            // follow a policy pwdir does not read (a pwdPolicySubentry of the entry's own).
            var record = before.record
            if answer.policy == .passwordExpired || answer.policy == .changeAfterReset { record.mustChangePassword = true }
            return .success(record)
        case (LDAPCode.invalidCredentials, .accountLocked?):
            // Locked before this attempt (the server checked nothing) or by this failure (it
            // counted it): what was read before the bind tells which, with no second read (the
            // server may write the failure after it answers).
            let lockout = Lockout(settings: s)
            let t = lockout.normalized(before.tally, now: now, generation: before.record.resetGeneration)
            if lockout.isLocked(t, now: now) {
                decoyHash(password, settings: s)
                return .locked(.failures, until: lockout.lockedUntil(t))
            }
            return .wrongPassword(lock: newLock(before, settings: s, now: now, locking: true))
        case (LDAPCode.invalidCredentials, _) where !before.record.hasPassword:
            // No password to check (or none this identity may see): the server hashed nothing.
            decoyHash(password, settings: s)
            return .noPassword(lock: nil)
        case (LDAPCode.invalidCredentials, _):
            return .wrongPassword(lock: newLock(before, settings: s, now: now, locking: false))
        default:
            return .unavailable(connection.failure(answer.code, "checking the password of \(login)"))
        }
    }

    /// The lock the failure just counted makes, by the policy: the server locks at `deny`
    /// failures in the window (`locking`: it said so itself).
    func newLock(_ before: Read, settings s: Settings, now: Int64, locking: Bool) -> NewLock? {
        let lockout = Lockout(settings: s)
        let failures = lockout.countingFailures(lockout.normalized(before.tally, now: now, generation: before.record.resetGeneration), now: now) + 1
        guard locking || (s.deny > 0 && failures >= s.deny) else { return nil }
        return NewLock(failures: max(failures, s.deny), until: s.unlockTime > 0 ? now &+ s.unlockTime : nil)
    }

    // MARK: Self-service recovery

    /// `pwdirRecoveryCode`: `HASH#SENT#EXPIRES#TRIES#CLAIMNONCE#CLAIMTIME` (a yescrypt hash has no '#').
    static func recoveryValue(_ c: RecoveryCode) -> String {
        "\(c.hash)#\(c.sent)#\(c.expires)#\(c.tries)#\(c.claimNonce)#\(c.claimTime)"
    }

    static func recoveryCode(_ value: String) -> RecoveryCode? {
        let p = value.split(separator: "#", omittingEmptySubsequences: false)
        let times: ClosedRange<Int64> = 0...253_402_300_799  // what a tally holds: 1970 to 9999
        guard p.count == 6, Yescrypt.isWellFormed(String(p[0])), let sent = Int64(p[1]), let expires = Int64(p[2]), let tries = Int(p[3]),
              let nonce = UInt64(p[4]), let claimTime = Int64(p[5]), times.contains(sent), times.contains(expires), times.contains(claimTime),
              (0...RecoveryCode.maxTries).contains(tries) else { return nil }
        return RecoveryCode(hash: String(p[0]), sent: sent, expires: expires, tries: tries, claimNonce: nonce, claimTime: claimTime)
    }

    func writeRecovery(_ login: String, _ code: RecoveryCode?, csn: String?) throws(PwdirError) {
        try write(login, [LDAPChange(.replace, "pwdirRecoveryCode", code.map { [Self.recoveryValue($0)] } ?? [])], csn: csn)
    }

    /// A failed login counted where every host sees it: a bind with a password nobody has.
    func countFailure(_ login: String) {
        guard let nobodys = try? SecretBytes.standIn() else { return }
        _ = try? LDAPConnection.bind(server, dn: dn(login), password: nobodys)
    }

    public func claimRecoveryCode(_ login: String, code: SecretBytes, settings: Settings, now: Int64) -> RecoveryClaimOutcome {
        let s = effectiveSettings(settings)
        let found: Read?
        do { found = try read(login) } catch { return .unavailable(error) }
        guard let r = found else {
            decoyHash(code, settings: s)
            return .unknownUser
        }
        // A locked account cannot recover itself: its manager or an administrator unlocks it.
        let lock = AccountState(record: r.record, tally: r.tally, settings: s, now: now).lockReason
        let open = lock != .administrator && lock != .failures
        let candidate = open ? r.recovery.flatMap { $0.isUsable(now: now) ? $0.hash : nil } : nil
        let dummy: String
        do { dummy = try Yescrypt.makeSetting(cost: s.yescryptCost) } catch { return .unavailable(error) }
        if Yescrypt.verify(code, against: candidate, dummySetting: dummy), var held = r.recovery {
            guard let bytes = try? randomBytes(8) else { return .unavailable(.hashing("no random bytes")) }
            held.claimNonce = bytes.reduce(1) { $0 &* 256 &+ UInt64($1) } | 1
            held.claimTime = now
            do { try writeRecovery(login, held, csn: r.csn) } catch {
                if case .changedMeanwhile = error { return .refused }
                return .unavailable(error)
            }
            return .claimed(RecoveryClaim(nonce: held.claimNonce, codeHash: held.hash))
        }
        if var spent = r.recovery, candidate != nil {
            spent.tries = min(spent.tries + 1, RecoveryCode.maxTries)
            try? writeRecovery(login, spent, csn: r.csn)
        }
        countFailure(login)
        return .refused
    }

    public func releaseRecoveryClaim(_ login: String, claim: RecoveryClaim) {
        guard let r = try? read(login), var code = r.recovery, code.claimNonce == claim.nonce, code.hash == claim.codeHash else { return }
        code.claimNonce = 0
        code.claimTime = 0
        try? writeRecovery(login, code, csn: r.csn)
    }

    public func finishRecovery(_ login: String, claim: RecoveryClaim, password: SecretBytes, settings: Settings, now: Int64) throws(PwdirError) {
        let s = effectiveSettings(settings)
        guard let r = try read(login) else { throw .userNotFound(login) }
        guard let code = r.recovery, code.claimNonce == claim.nonce, code.hash == claim.codeHash, code.claimTime <= now,
              now - code.claimTime < RecoveryCode.claimSeconds, code.sent <= now, now < code.expires else {
            throw .invalidValue(field: "recovery code", reason: "it is no longer valid")
        }
        if r.record.isAdminLocked { throw .lockedMeanwhile(login) }
        var record = r.record
        record.setPassword(hash: try Yescrypt.hashNew(password, cost: s.yescryptCost), now: now, mustChange: false)
        // One change: the new password, the code spent, the failures forgotten (whoever used
        // the code reads the mailbox).
        let changes = self.changes(from: r.record, to: record) + [
            LDAPChange(.replace, "pwdirRecoveryCode"), LDAPChange(.replace, "pwdFailureTime"), LDAPChange(.replace, "pwdAccountLockedTime"),
        ]
        try write(login, changes, csn: r.csn)
    }

    public func storeRecoveryCode(_ login: String, hash: String, settings: Settings, now: Int64) throws(PwdirError) {
        guard let r = try read(login) else { throw .userNotFound(login) }
        if let previous = r.recovery, previous.sent <= now, now - previous.sent < settings.recoveryInterval {
            throw .rateLimited(login: login, retryAfter: previous.sent + settings.recoveryInterval)
        }
        try writeRecovery(login, RecoveryCode(hash: hash, sent: now, expires: now + settings.recoveryTTL, tries: 0), csn: r.csn)
    }

    public func dropRecoveryCode(_ login: String, hash: String) throws(PwdirError) {
        guard let r = try read(login), r.recovery?.hash == hash else { return }
        try writeRecovery(login, nil, csn: r.csn)
    }

    // MARK: Changes

    /// The folders of accounts and policies, and the policy pwdir.conf says.
    public func create(format: Int) throws(PwdirError) {
        let policyText = LDIF.policy(settings, base: server.base)
        guard let policy = try? LDIF.parse(Array(policyText.utf8)).first else { throw .server("the policy entry could not be made") }
        var grouped: [(String, [String])] = []
        for (n, v) in policy.attributes {
            if let i = grouped.firstIndex(where: { $0.0 == n }) { grouped[i].1.append(v) } else { grouped.append((n, [v])) }
        }
        let entries: [(String, [LDAPChange])] = [
            (people, [LDAPChange(.add, "objectClass", ["organizationalUnit"]), LDAPChange(.add, "ou", ["people"])]),
            ("ou=policies," + server.base, [LDAPChange(.add, "objectClass", ["organizationalUnit"]), LDAPChange(.add, "ou", ["policies"])]),
            (policy.dn, grouped.map { LDAPChange(.add, $0.0, $0.1) }),
        ]
        var made = 0
        for (dn, attributes) in entries {
            let rc = try connection.add(dn, attributes)
            if rc == LDAPCode.alreadyExists { continue }
            if rc == LDAPCode.noSuchObject { throw .directoryMissing("\(server.base) on \(server.uris) (load the base entry first)") }
            guard rc == LDAPCode.success else { throw connection.failure(rc, "adding \(dn)") }
            made += 1
        }
        if made == 0 { throw .directoryExists("\(people) on \(server.uris)") }
    }

    public func migrate() throws(PwdirError) -> Int? { nil }

    public func add(_ record: UserRecord, now: Int64, completing: (inout UserRecord) throws(PwdirError) -> Void) throws(PwdirError) {
        guard LoginName.isValid(record.login) else { throw .invalidLogin(record.login, reason: "not a login pwdir accepts") }
        // uid is matched without regard to case: Ana is taken when ana exists.
        if !(try connection.search(people, scope: .oneLevel, filter: "(uid=\(record.login))", attributes: ["1.1"])).isEmpty {
            throw .userExists(record.login)
        }
        var r = record
        try completing(&r)
        var attributes = self.attributes(of: r).values.sorted { $0.name < $1.name }.map { LDAPChange(.add, $0.name, $0.values) }
        // Restored failures, unless the record locks the account itself (an administrator's lock).
        for c in pendingFailures.removeValue(forKey: r.login) ?? [] where !c.values.isEmpty && !attributes.contains(where: { $0.name == c.name }) {
            attributes.append(LDAPChange(.add, c.name, c.values))
        }
        let rc = try connection.add(dn(r.login), attributes, relax: true)
        switch rc {
        case LDAPCode.success: return
        case LDAPCode.alreadyExists: throw .userExists(r.login)
        case LDAPCode.noSuchObject: throw .directoryMissing("\(people) on \(server.uris) (run 'pwdir init')")
        default: throw connection.failure(rc, "adding \(dn(r.login))")
        }
    }

    @discardableResult
    public func update<T>(_ login: String, _ change: (inout UserRecord) throws(PwdirError) -> T) throws(PwdirError) -> T {
        try self.change(login) { (record, _) throws(PwdirError) -> T in try change(&record) }
    }

    @discardableResult
    public func updateAll<T>(_ change: (inout [UserRecord]) throws(PwdirError) -> T) throws(PwdirError) -> T {
        // No transaction: LDAP transactions are not safe with multiprovider replication (an
        // aborted one replicated). Every change is worked out first, then applied entry by entry.
        let before = try readAll()
        var records = before.map(\.record)
        let result = try change(&records)
        let old = Dictionary(before.map { ($0.record.login, $0) }, uniquingKeysWith: { a, _ in a })
        let new = Set(records.map(\.login))
        var applied = 0
        func step(_ body: () throws(PwdirError) -> Void) throws(PwdirError) {
            do { try body() } catch {
                if applied == 0 { throw error }
                throw .server("\(error.message) — after \(applied) of the changes were applied on \(server.uris); check with 'pwdir user list' before running it again")
            }
            applied += 1
        }
        for r in records {
            if let o = old[r.login] {
                let c = changes(from: o.record, to: r)
                if !c.isEmpty { try step { () throws(PwdirError) in try write(r.login, c, csn: o.csn) } }
            } else {
                try step { () throws(PwdirError) in try add(r, now: systemNow()) }
            }
        }
        for o in before where !new.contains(o.record.login) { try step { () throws(PwdirError) in try remove(o.record.login) } }
        return result
    }

    @discardableResult
    public func setPassword(_ login: String, to password: SecretBytes, by setter: PasswordSetter, settings: Settings, now: Int64) throws(PwdirError) -> PasswordReport {
        let s = effectiveSettings(settings)
        let hash = try Yescrypt.hashNew(password, cost: s.yescryptCost)
        // The history is the server's: it keeps the old password in pwdHistory itself.
        return try change(login) { (record, tally) throws(PwdirError) -> PasswordReport in
            try record.applyPassword(hash: hash, by: setter, before: tally, settings: s, now: now, remember: nil)
        }
    }

    @discardableResult
    public func unlock(_ login: String, settings: Settings, now: Int64) throws(PwdirError) -> UnlockReport {
        let s = effectiveSettings(settings)
        // The record's reset makes `changes` clear the server's failures and lock (with relax).
        return try change(login) { (record, tally) throws(PwdirError) -> UnlockReport in
            record.applyUnlock(reading: .tally(tally), settings: s, now: now)
        }
    }

    /// `update` with the account's failures as the same read found them.
    func change<T>(_ login: String, _ body: (inout UserRecord, Tally) throws(PwdirError) -> T) throws(PwdirError) -> T {
        guard let before = try read(login) else { throw .userNotFound(login) }
        var record = before.record
        let result = try body(&record, before.tally)
        try write(login, changes(from: before.record, to: record), csn: before.csn)
        return result
    }

    /// Failures restored for accounts not added yet (an import restores them before it adds).
    private var pendingFailures: [String: [LDAPChange]] = [:]

    public func restoreFailures(_ login: String, failures: [Int64], lockedTime: Int64?, generation: UInt64) throws(PwdirError) {
        let changes = Self.failureChanges(failures: failures, lockedTime: lockedTime)
        guard try read(login) != nil else {
            // Written with the entry when it is added (as the file store keeps a tally for a
            // login before its account exists).
            pendingFailures[login] = changes
            return
        }
        try write(login, changes, csn: nil)
    }

    /// pwdFailureTime and pwdAccountLockedTime as slapd writes them.
    static func failureChanges(failures: [Int64], lockedTime: Int64?) -> [LDAPChange] {
        var changes = [LDAPChange(.replace, "pwdFailureTime", LDIF.failureTimes(failures.sorted()))]
        if let lockedTime { changes.append(LDAPChange(.replace, "pwdAccountLockedTime", [GeneralizedTime.format(lockedTime)])) }
        return changes
    }

    public func remove(_ login: String) throws(PwdirError) {
        let team = try connection.search(people, scope: .oneLevel, filter: "(manager=\(dn(login)))", attributes: ["uid"]).compactMap { $0.values("uid").first }
        if !team.isEmpty {
            throw .invalidValue(field: "user", reason: "'\(login)' manages \(team.sorted().joined(separator: ", ")); give them another manager first")
        }
        let rc = try connection.delete(dn(login))
        if rc == LDAPCode.noSuchObject { throw .userNotFound(login) }
        guard rc == LDAPCode.success else { throw connection.failure(rc, "removing \(dn(login))") }
    }

    // MARK: Second factor

    static let totpAttribute = "pwdirTotp"
    static let totpStateAttribute = "pwdirTotpState"
    static let codeFailureAttribute = "pwdirSecondFactorFailure"

    static func encoded(_ bytes: [UInt8]) -> [String] { [Base64.encode(bytes)] }

    public func hasSecondFactor(_ login: String) -> Bool {
        do {
            guard let r = try read(login) else { return false }
            return r.totp != nil || r.totpDamaged
        } catch {
            return LoginName.isValid(login)  // it cannot be told: the code step fails closed
        }
    }

    public func loginsWithSecondFactors() -> Set<String> {
        let found = (try? connection.search(people, scope: .oneLevel, filter: "(\(Self.totpAttribute)=*)", attributes: ["uid"])) ?? []
        return Set(found.compactMap { $0.values("uid").first })
    }

    public func secondFactor(_ login: String) throws(PwdirError) -> SecondFactorSummary? {
        guard let r = try read(login), let e = r.totp else { return nil }
        let state = (r.totpState ?? TotpState(keyID: e.keyID)).applying(to: e)
        return SecondFactorSummary(created: e.created, lastUsed: state.lastUsed > 0 ? state.lastUsed : nil,
                                   recoveryCodesLeft: state.codesLeft(of: e), recoveryCodes: e.codes.count)
    }

    public func enrolSecondFactor(_ login: String, key: SecretBytes, now: Int64) throws(PwdirError) {
        guard let r = try read(login) else { throw .userNotFound(login) }
        if let e = r.totp {
            throw .invalidValue(field: "totp", reason: "\(login) has had a second factor since \(GeneralizedTime.readable(e.created)); remove it first with 'pwdir totp remove \(login)'")
        }
        // A state left by an earlier key names that key: it does not apply to this one.
        let e = TotpEnrolment(key: key, keyID: try TotpCodec.newID(), created: now)
        try write(login, [LDAPChange(.replace, Self.totpAttribute, Self.encoded(TotpCodec.encode(e))), LDAPChange(.replace, Self.totpStateAttribute)], csn: r.csn)
    }

    public func setSecondFactorRecoveryCodes(_ login: String, _ codes: [TotpRecoveryCode]) throws(PwdirError) {
        guard let r = try read(login), var e = r.totp else {
            throw .invalidValue(field: "totp", reason: "\(login) has no second factor; enrol it first with 'pwdir totp enroll \(login)'")
        }
        e.codes = codes
        e.codesID = try TotpCodec.newID()
        try write(login, [LDAPChange(.replace, Self.totpAttribute, Self.encoded(TotpCodec.encode(e)))], csn: r.csn)
    }

    public func removeSecondFactor(_ login: String) throws(PwdirError) -> Bool {
        guard LoginName.isValid(login), let r = try read(login), r.totp != nil || r.totpDamaged else { return false }
        try write(login, [LDAPChange(.replace, Self.totpAttribute), LDAPChange(.replace, Self.totpStateAttribute)], csn: nil)
        return true
    }

    /// The code step of a login whose password the bind already checked (and slapd counted, or
    /// cleared the failures of: a right password clears pwdFailureTime). A wrong code after the
    /// right password is counted apart, in `pwdirSecondFactorFailure`, which no bind clears, and
    /// locks the account (pwdAccountLockedTime, replicated) at `deny`; a wrong password was
    /// counted by its bind. A code step is recorded with a compare-and-swap on the entry
    /// (entryCSN): two logins racing with one code, one passes.
    public func verifySecondFactor(_ login: String, code answer: SecretBytes, passwordMatched: Bool, settings: Settings, now: Int64) -> SecondFactorOutcome {
        let s = effectiveSettings(settings)
        let (typed, isTotp) = Totp.answer(answer)
        let dummy: String
        do { dummy = try Yescrypt.makeSetting(cost: s.yescryptCost) } catch { return .refused(.unavailable(error)) }
        func matchingRecoveryCode(_ codes: [TotpRecoveryCode]) -> Int? { TotpRecoveryCode.matching(typed, in: codes, dummySetting: dummy) }
        let found: Read?
        do { found = try read(login) } catch { return .refused(.unavailable(error)) }
        guard let r = found else {
            if !isTotp { _ = matchingRecoveryCode([]) }
            return .refused(.unknownUser)
        }
        if r.totpDamaged { return .refused(.unavailable(.server("the second factor of \(login) on the LDAP server cannot be read; enrol it again"))) }
        guard let e = r.totp else { return .notEnrolled }
        var state = (r.totpState ?? TotpState(keyID: e.keyID)).applying(to: e)
        var accepted = false, replay = false
        if isTotp {
            // Computed whatever the password's verdict: the same work either way.
            switch (try? Totp.match(typed, key: e.key, now: now, window: s.totpWindow, after: state.lastStep)) ?? Totp.Match.none {
            case let .fresh(step):
                state.lastStep = step
                accepted = passwordMatched
            case .used: replay = passwordMatched
            case .none: break
            }
        } else if let i = matchingRecoveryCode(e.codes), state.spent & (1 << UInt32(i)) == 0 {
            state.spent |= 1 << UInt32(i)
            accepted = passwordMatched
        }
        if accepted {
            state.lastUsed = now
            do {
                // Only if nothing changed since the read: another login with the same code, or
                // one that failed meanwhile, makes this one start again.
                try write(login, [LDAPChange(.replace, Self.totpStateAttribute, Self.encoded(TotpCodec.encode(state))),
                                  LDAPChange(.replace, Self.codeFailureAttribute)], csn: r.csn)
            } catch {
                if case .changedMeanwhile = error { return .wrongCode(lock: nil, replay: true) }
                return .refused(.unavailable(error))
            }
            return .success(r.record, recoveryCodesLeft: isTotp ? nil : state.codesLeft(of: e))
        }
        guard passwordMatched else { return .wrongCode(lock: nil, replay: false) }  // its bind counted it
        // The right password and a wrong code: one failure, counted apart from the bind's.
        let lockout = Lockout(settings: s)
        let window = r.codeFailures.filter { s.failInterval == 0 || $0 > now &- s.failInterval }
        let failures = window + [now]
        var changes = [LDAPChange(.replace, Self.codeFailureAttribute, LDIF.failureTimes(failures))]
        var lock: NewLock?
        if s.deny > 0, failures.count >= s.deny, !lockout.isLocked(r.tally, now: now), !r.record.isAdminLocked {
            changes.append(LDAPChange(.replace, "pwdAccountLockedTime", [GeneralizedTime.format(now)]))
            lock = NewLock(failures: failures.count, until: s.unlockTime > 0 ? now &+ s.unlockTime : nil)
        }
        do { try write(login, changes, csn: nil) } catch { return .refused(.unavailable(error)) }
        return .wrongCode(lock: lock, replay: replay)
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
