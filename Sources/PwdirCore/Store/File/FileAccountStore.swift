/// The flat-file account store: the directory file (`DirectoryFile`, written by one recipe) and
/// the per-account tallies beside it (`TallyFolder`). The login path reads the directory once,
/// counts the attempt in the account's tally before the hash and settles it after, and never
/// holds a lock while hashing or talking to the user.
public final class FileAccountStore: AccountStore {
    public let directory: DirectoryFile
    public let tallies: TallyFolder
    public let totp: TotpFolder

    public init(path: String) {
        directory = DirectoryFile(path: path)
        tallies = TallyFolder(directoryPath: path)
        totp = TotpFolder(directoryPath: path)
    }

    public var location: String { directory.path }

    // MARK: Reading

    public func record(_ login: String) throws(PwdirError) -> UserRecord? {
        guard LoginName.isValid(login) else { return nil }
        return try directory.lookup(login)
    }

    public func allRecords() throws(PwdirError) -> [UserRecord] {
        try directory.load()
    }

    public func forEachRecord(containing needle: String?, _ body: (UserRecord) throws(PwdirError) -> Void) throws(PwdirError) {
        try directory.forEachRecord(containing: needle, body)
    }

    public func loginsWithTallies() -> Set<String>? {
        guard let names = try? Sys.listFolder(tallies.path) else { return nil }
        return Set(names.filter { LoginName.isValid($0) })
    }

    public func tally(_ login: String) -> TallyReading {
        do { return .tally(try tallies.read(login)) } catch {
            if case let .tallyDamaged(_, _, reason) = error { return .damaged(reason) }
            return .unavailable(error)
        }
    }

    // MARK: The login path

    public func authenticate(_ login: String, password: SecretBytes, settings: Settings, now: Int64, settling: PasswordSettlement) -> AuthenticationOutcome {
        let lockout = Lockout(settings: settings)
        let dummy: String
        do { dummy = try Yescrypt.makeSetting(cost: settings.yescryptCost) } catch { return .unavailable(error) }
        let record: UserRecord?
        do { record = try self.record(login) } catch { return .unavailable(error) }
        guard let record else {
            // The same work as an account's attempt, and no lock: see touchDecoy.
            tallies.touchDecoy(durable: false)
            _ = Yescrypt.verify(password, against: nil, dummySetting: dummy)
            tallies.touchDecoy(durable: true)
            return .unknownUser
        }
        func refusedWithoutTally(_ error: PwdirError) -> AuthenticationOutcome {
            tallies.touchDecoy(durable: false)
            _ = Yescrypt.verify(password, against: nil, dummySetting: dummy)
            tallies.touchDecoy(durable: true)
            if case let .tallyDamaged(_, _, reason) = error { return .damagedTally(reason) }
            return .unavailable(error)
        }
        let nonce = Self.nonce()

        // Before the hash: is the account usable, may one more attempt start? Count it as in flight.
        // (The tally is read once, here, under its lock; only when that read finds it damaged is
        // it opened again the careful way, which replaces the leftover of an unlock cut short.)
        var file: TallyFile
        let admission: Admission
        do {
            file = try openTally(login, record: record, verified: false)
            do throws(PwdirError) {
                admission = try admit(file, record: record, nonce: nonce, settings: settings, now: now)
            } catch {
                guard case .tallyDamaged = error else { return .unavailable(error) }
                file = try openTally(login, record: record)
                admission = try admit(file, record: record, nonce: nonce, settings: settings, now: now)
            }
        } catch { return refusedWithoutTally(error) }

        let usableHash: String?
        if case let .admitted(state) = admission, state.lockReason != .noPassword { usableHash = record.passwordHash } else { usableHash = nil }
        let matches = Yescrypt.verify(password, against: usableHash, dummySetting: dummy)

        // After the hash: settle the attempt (or, when it was refused, the same write, unchanged).
        do {
            return try file.update(durable: true, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) -> AuthenticationOutcome in
                t = lockout.normalized(t, now: now, generation: record.resetGeneration)
                guard case let .admitted(state) = admission else {
                    if case let .refused(outcome) = admission { return outcome }
                    return .tooManyInFlight
                }
                if matches && state.lockReason == .temporaryPasswordExpired {
                    t = lockout.withdrawing(t, nonce: nonce)
                    return .temporaryPasswordExpired
                }
                if settling == .deferred {
                    // Not counted either way: the code's step settles the login, once.
                    t = lockout.withdrawing(t, nonce: nonce)
                    if matches { return .success(record) }
                    return state.lockReason == .noPassword ? .noPassword(lock: nil) : .wrongPassword(lock: nil)
                }
                if matches && settling == .keepingFailures {
                    t = lockout.withdrawing(t, nonce: nonce)
                    return .success(record)
                }
                if matches {
                    guard let after = lockout.succeeding(t, nonce: nonce) else { return .attemptExpired }
                    t = after
                    return .success(record)
                }
                guard let after = lockout.failing(t, nonce: nonce, now: now) else { return .attemptExpired }
                let lock = after.lockedTime == now && t.lockedTime == nil ? NewLock(failures: lockout.countingFailures(after, now: now), until: lockout.lockedUntil(after)) : nil
                t = after
                return state.lockReason == .noPassword ? .noPassword(lock: lock) : .wrongPassword(lock: lock)
            }
        } catch { return .unavailable(error) }
    }

    /// How long an attempt waits for a place when `deny` attempts are already in flight.
    public var admissionWaitMilliseconds = 5000

    enum Admission {
        case admitted(AccountState)
        case refused(AuthenticationOutcome)
    }

    /// Under the tally's lock: refuses a locked account, or counts the attempt as in flight. When
    /// `deny` attempts are already in flight, waits (holding no lock) for one to settle, for up
    /// to `admissionWaitMilliseconds`, so parallel logins go through a few at a time.
    private func admit(_ file: TallyFile, record: UserRecord, nonce: UInt64, settings: Settings, now: Int64) throws(PwdirError) -> Admission {
        let lockout = Lockout(settings: settings)
        let deadline = monotonicNanoseconds() + UInt64(admissionWaitMilliseconds) * 1_000_000
        while true {
            let admission = try file.update(durable: false, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) -> Admission in
                t = lockout.normalized(t, now: now, generation: record.resetGeneration)
                let state = AccountState(record: record, tally: t, settings: settings, now: now)
                if let reason = state.lockReason, reason == .administrator || reason == .failures || reason == .damagedTally {
                    return .refused(.locked(reason, until: state.lockedUntil))
                }
                guard lockout.admits(t, now: now) else { return .refused(.tooManyInFlight) }
                t = lockout.starting(t, nonce: nonce, now: now)
                return .admitted(state)
            }
            guard case .refused(.tooManyInFlight) = admission, monotonicNanoseconds() < deadline else { return admission }
            Sys.sleep(milliseconds: 10)
        }
    }

    public func claimRecoveryCode(_ login: String, code: SecretBytes, settings: Settings, now: Int64) -> RecoveryClaimOutcome {
        let lockout = Lockout(settings: settings)
        let dummy: String
        do { dummy = try Yescrypt.makeSetting(cost: settings.yescryptCost) } catch { return .unavailable(error) }
        let record: UserRecord?
        do { record = try self.record(login) } catch { return .unavailable(error) }
        guard let record, let file = try? openTally(login, record: record) else {
            tallies.touchDecoy(durable: false)
            _ = Yescrypt.verify(code, against: nil, dummySetting: dummy)
            tallies.touchDecoy(durable: true)
            return record == nil ? .unknownUser : .refused
        }
        let nonce = Self.nonce()
        let candidate: String?
        do {
            candidate = try file.update(durable: false, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) -> String? in
                t = lockout.normalized(t, now: now, generation: record.resetGeneration)
                let state = AccountState(record: record, tally: t, settings: settings, now: now)
                // A locked account cannot recover itself: its manager or an administrator unlocks it.
                if state.lockReason == .administrator || state.lockReason == .failures || !lockout.admits(t, now: now) { return nil }
                t = lockout.starting(t, nonce: nonce, now: now)
                return t.recovery.flatMap { $0.isUsable(now: now) ? $0.hash : nil }
            }
        } catch { return .unavailable(error) }
        let matches = Yescrypt.verify(code, against: candidate, dummySetting: dummy)
        do {
            return try file.update(durable: true, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) -> RecoveryClaimOutcome in
                t = lockout.normalized(t, now: now, generation: record.resetGeneration)
                guard t.attempts.contains(where: { $0.nonce == nonce }) else { return .refused }
                if matches, let hash = candidate, var code = t.recovery, code.hash == hash, code.isUsable(now: now) {
                    code.claimNonce = nonce
                    code.claimTime = now
                    t.recovery = code
                    t = lockout.withdrawing(t, nonce: nonce)
                    return .claimed(RecoveryClaim(nonce: nonce, codeHash: hash))
                }
                if var code = t.recovery, candidate != nil {
                    // One try of the code spent; a used-up code stays (isUsable refuses it), so its
                    // send time keeps the one-code-per-recovery_interval limit.
                    code.tries = min(code.tries + 1, RecoveryCode.maxTries)
                    t.recovery = code
                }
                t = lockout.failing(t, nonce: nonce, now: now) ?? t
                return .refused
            }
        } catch { return .unavailable(error) }
    }

    public func releaseRecoveryClaim(_ login: String, claim: RecoveryClaim) {
        guard let file = try? tallies.open(login, create: false) else { return }
        _ = try? file.update(durable: true, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) in
            if var code = t.recovery, code.claimNonce == claim.nonce, code.hash == claim.codeHash {
                code.claimNonce = 0
                code.claimTime = 0
                t.recovery = code
            }
        }
    }

    public func finishRecovery(_ login: String, claim: RecoveryClaim, password: SecretBytes, settings: Settings, now: Int64) throws(PwdirError) {
        guard let record = try record(login) else { throw .userNotFound(login) }
        let file = try openTally(login, record: record)
        // Still this session's code? (The claim is checked without a hash: it was checked once.)
        let held = try file.update(durable: false, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) -> Bool in
            guard let code = t.recovery, code.claimNonce == claim.nonce, code.hash == claim.codeHash, code.claimTime <= now,
                  now - code.claimTime < RecoveryCode.claimSeconds, code.sent <= now, now < code.expires else { return false }
            return true
        }
        guard held else { throw .invalidValue(field: "recovery code", reason: "it is no longer valid") }
        try setPassword(login, to: password, by: .user, settings: settings, now: now)
        // The code is spent and the failures forgotten (whoever used it reads the mailbox).
        try file.update(durable: true, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) in
            t = t.cleared
            t.recovery = nil
        }
    }

    public func storeRecoveryCode(_ login: String, hash: String, settings: Settings, now: Int64) throws(PwdirError) {
        guard let record = try record(login) else { throw .userNotFound(login) }
        let file = try openTally(login, record: record)
        try file.update(durable: true, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) in
            t = Lockout(settings: settings).normalized(t, now: now, generation: record.resetGeneration)
            if let previous = t.recovery, previous.sent <= now, now - previous.sent < settings.recoveryInterval {
                throw .rateLimited(login: login, retryAfter: previous.sent + settings.recoveryInterval)
            }
            t.recovery = RecoveryCode(hash: hash, sent: now, expires: now + settings.recoveryTTL, tries: 0)
        }
    }

    public func dropRecoveryCode(_ login: String, hash: String) throws(PwdirError) {
        guard let file = try tallies.open(login, create: false) else { return }
        try file.update(durable: true, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) in
            if t.recovery?.hash == hash { t.recovery = nil }
        }
    }

    // MARK: Changes

    /// Format 2 (shards) or 1 (one file); see `DirectoryFile`.
    public func create(format: Int = 2) throws(PwdirError) {
        try directory.create(format: format)
        try tallies.ensure()
        tallies.touchDecoy(durable: true)
    }

    public func migrate() throws(PwdirError) -> Int? {
        try directory.migrate()
    }

    public func add(_ record: UserRecord, now: Int64, completing: (inout UserRecord) throws(PwdirError) -> Void) throws(PwdirError) {
        var record = record
        // Failures left under this login by an account removed before (its tally should have gone
        // with it) belong to an older generation.
        let stale = tally(record.login).tally?.generation ?? 0
        record[UserRecord.Key.failuresResetCount] = String(stale &+ 1)
        record[UserRecord.Key.failuresReset] = GeneralizedTime.format(now)
        // Logins that differ only in case share a shard: the shard is all this needs to read.
        try directory.updateRecords(of: record.login) { (records) throws(PwdirError) in
            if let taken = records.first(where: { LoginName.sameIgnoringCase($0.login, record.login) }) { throw .userExists(taken.login) }
            try completing(&record)
            // A second factor left under this login by an account removed before (a removal cut
            // short) is not the new account's: its key is on someone else's phone.
            if totp.isEnrolled(record.login) { try totp.withLock { () throws(PwdirError) in _ = try totp.remove(record.login) } }
            records.append(record)  // the directory keeps them sorted
        }
        // The module makes a missing tally on its own; made here, a full disk later cannot
        // stop this account's failures from being counted.
        try? tallies.ensure()
        try? tallies.make(record.login, Tally())
    }

    @discardableResult
    public func update<T>(_ login: String, _ change: (inout UserRecord) throws(PwdirError) -> T) throws(PwdirError) -> T {
        try directory.updateRecords(of: login) { (records) throws(PwdirError) -> T in
            guard let i = records.firstIndex(where: { $0.login == login }) else { throw .userNotFound(login) }
            return try change(&records[i])
        }
    }

    @discardableResult
    public func updateAll<T>(_ change: (inout [UserRecord]) throws(PwdirError) -> T) throws(PwdirError) -> T {
        try directory.update(change)
    }

    @discardableResult
    public func setPassword(_ login: String, to password: SecretBytes, by setter: PasswordSetter, settings: Settings, now: Int64) throws(PwdirError) -> PasswordReport {
        let hash = try Yescrypt.hashNew(password, cost: settings.yescryptCost)
        let before = tally(login).tally
        return try update(login) { (record) throws(PwdirError) -> PasswordReport in
            try record.applyPassword(hash: hash, by: setter, before: before, settings: settings, now: now, remember: settings.remember)
        }
    }

    @discardableResult
    public func unlock(_ login: String, settings: Settings, now: Int64) throws(PwdirError) -> UnlockReport {
        var report = UnlockReport()
        let lockout = Lockout(settings: settings)
        let reading = tally(login)
        // One write lifts everything: the administrator's lock goes, and the reset time makes
        // every failure (and a failure lock) recorded before now stop counting.
        let record = try update(login) { (record) throws(PwdirError) -> UserRecord in
            report = record.applyUnlock(reading: reading, settings: settings, now: now)
            return record
        }
        // Then a fresh tally (a damaged one replaced); if this step does not happen, the reset
        // time above already lifted the lock.
        if case .damaged = reading {
            try tallies.make(login, Tally())
        } else if let file = try tallies.open(login, create: true) {
            try file.update(durable: true, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) in
                t = lockout.normalized(t, now: now, generation: record.resetGeneration).cleared
                t.recovery = nil  // an unlock starts afresh: no code left from before
            }
        }
        return report
    }

    public func restoreFailures(_ login: String, failures: [Int64], lockedTime: Int64?, generation: UInt64) throws(PwdirError) {
        guard LoginName.isValid(login) else { throw .invalidLogin(login, reason: "not a login") }
        let kept = failures.sorted().suffix(Tally.capacity).map { Tally.Attempt(time: $0) }
        try tallies.make(login, Tally(attempts: Array(kept), lockedTime: lockedTime, generation: generation))
    }

    public func remove(_ login: String) throws(PwdirError) {
        try directory.updateRecords(of: login) { (records) throws(PwdirError) in
            guard let i = records.firstIndex(where: { $0.login == login }) else { throw .userNotFound(login) }
            // The whole directory is searched for the team, under the writers' lock.
            var team: [String] = []
            try directory.forEachRecord(containing: login) { (r) throws(PwdirError) in if r.manager == login { team.append(r.login) } }
            if !team.isEmpty {
                throw .invalidValue(field: "user", reason: "'\(login)' manages \(team.joined(separator: ", ")); give them another manager first")
            }
            records.remove(at: i)
        }
        try tallies.remove(login)
        _ = try removeSecondFactor(login)
    }

    // MARK: Second factor

    public func verifySecondFactor(_ login: String, code answer: SecretBytes, passwordMatched: Bool, settings: Settings, now: Int64) -> SecondFactorOutcome {
        let lockout = Lockout(settings: settings)
        // A recovery code costs one yescrypt hash (a dummy when no code's tag matches).
        let (typed, isTotp) = Totp.answer(answer)
        let dummy: String
        let record: UserRecord?
        do {
            dummy = try Yescrypt.makeSetting(cost: settings.yescryptCost)
            record = try self.record(login)
        } catch { return .refused(.unavailable(error)) }
        func matchingRecoveryCode(_ codes: [TotpRecoveryCode]) -> Int? { TotpRecoveryCode.matching(typed, in: codes, dummySetting: dummy) }
        guard let record else {
            // The same work as an account's code, and no lock (see touchDecoy).
            tallies.touchDecoy(durable: false)
            if !isTotp { _ = matchingRecoveryCode([]) }
            tallies.touchDecoy(durable: true)
            return .refused(.unknownUser)
        }
        // A recovery code's hash needs the codes, read now; for a TOTP code the enrolment is read
        // once, under the lock.
        var codesBefore: TotpEnrolment?
        if !isTotp {
            do { codesBefore = try totp.read(login) } catch { return .refused(.unavailable(error)) }
            guard codesBefore != nil else { return .notEnrolled }
        }

        // Admitted first (at most `deny` attempts in flight), then the hash, then settled.
        let nonce = Self.nonce()
        let file: TallyFile
        let admission: Admission
        do {
            file = try openTally(login, record: record)
            admission = try admit(file, record: record, nonce: nonce, settings: settings, now: now)
        } catch {
            if case let .tallyDamaged(_, _, reason) = error { return .refused(.damagedTally(reason)) }
            return .refused(.unavailable(error))
        }
        let recovered = codesBefore.flatMap { e in matchingRecoveryCode(e.codes).map { (codesID: e.codesID, index: $0, code: e.codes[$0]) } }
        // Under the account's lock: the code checked against the state and, if accepted, the
        // state written, in one step; two logins racing with one code take turns here, and the
        // second finds its step used.
        do {
            return try file.update(durable: true, timeoutMilliseconds: tallies.lockTimeoutMilliseconds) { (t) throws(PwdirError) -> SecondFactorOutcome in
                t = lockout.normalized(t, now: now, generation: record.resetGeneration)
                guard case .admitted = admission else {
                    if case let .refused(outcome) = admission { return .refused(outcome) }
                    return .refused(.tooManyInFlight)
                }
                var state: TotpState
                var accepted = false
                var replay = false
                let current: TotpEnrolment
                do throws(PwdirError) {
                    // Read again under the lock: enrolled again or removed since the hash.
                    guard let e = try totp.read(login) else {
                        t = lockout.withdrawing(t, nonce: nonce)
                        return .notEnrolled
                    }
                    current = e
                    state = try totp.state(login, for: current)
                    if isTotp {
                        // Computed whatever the password's verdict: the same work either way.
                        switch try Totp.match(typed, key: current.key, now: now, window: settings.totpWindow, after: state.lastStep) {
                        case let .fresh(step):
                            state.lastStep = step
                            accepted = passwordMatched
                        case .used: replay = passwordMatched
                        case .none: break
                        }
                    } else if let r = recovered, current.codesID == r.codesID, r.index < current.codes.count,
                              current.codes[r.index] == r.code, state.spent & (1 << UInt32(r.index)) == 0 {
                        state.spent |= 1 << UInt32(r.index)
                        accepted = passwordMatched
                    }
                    if accepted {
                        state.lastUsed = now
                        // A state that cannot be written (a full disk) refuses the login: an
                        // unrecorded code could be used again.
                        try totp.writeState(login, state)
                    }
                } catch {
                    t = lockout.withdrawing(t, nonce: nonce)
                    return .refused(.unavailable(error))
                }
                if accepted {
                    guard var after = lockout.succeeding(t, nonce: nonce) else { return .refused(.attemptExpired) }
                    // A mailed recovery code held by a recovery under way (this one) stays for it.
                    if let held = t.recovery, held.claimNonce != 0 { after.recovery = held }
                    t = after
                    return .success(record, recoveryCodesLeft: isTotp ? nil : state.codesLeft(of: current))
                }
                guard let after = lockout.failing(t, nonce: nonce, now: now) else { return .refused(.attemptExpired) }
                let lock = after.lockedTime == now && t.lockedTime == nil ? NewLock(failures: lockout.countingFailures(after, now: now), until: lockout.lockedUntil(after)) : nil
                t = after
                return .wrongCode(lock: lock, replay: replay)
            }
        } catch { return .refused(.unavailable(error)) }
    }

    public func loginsWithSecondFactors() -> Set<String> {
        Set(((try? Sys.listFolder(totp.secrets)) ?? []).filter { LoginName.isValid($0) })
    }

    public func hasSecondFactor(_ login: String) -> Bool {
        LoginName.isValid(login) && totp.isEnrolled(login)
    }

    public func secondFactor(_ login: String) throws(PwdirError) -> SecondFactorSummary? {
        guard LoginName.isValid(login), let e = try totp.read(login) else { return nil }
        let state = try totp.state(login, for: e)
        return SecondFactorSummary(created: e.created, lastUsed: state.lastUsed > 0 ? state.lastUsed : nil,
                                   recoveryCodesLeft: state.codesLeft(of: e), recoveryCodes: e.codes.count)
    }

    public func enrolSecondFactor(_ login: String, key: SecretBytes, now: Int64) throws(PwdirError) {
        guard try record(login) != nil else { throw .userNotFound(login) }
        try totp.withLock { () throws(PwdirError) in
            if let e = try totp.read(login) {
                throw .invalidValue(field: "totp", reason: "\(login) has had a second factor since \(GeneralizedTime.readable(e.created)); remove it first with 'pwdir totp remove \(login)'")
            }
            // A state left by an earlier key names that key: it does not apply to this one.
            try totp.write(login, TotpEnrolment(key: key, keyID: try TotpCodec.newID(), created: now))
        }
    }

    public func setSecondFactorRecoveryCodes(_ login: String, _ codes: [TotpRecoveryCode]) throws(PwdirError) {
        try totp.withLock { () throws(PwdirError) in
            guard var e = try totp.read(login) else {
                throw .invalidValue(field: "totp", reason: "\(login) has no second factor; enrol it first with 'pwdir totp enroll \(login)'")
            }
            e.codes = codes
            e.codesID = try TotpCodec.newID()
            try totp.write(login, e)
        }
    }

    public func removeSecondFactor(_ login: String) throws(PwdirError) -> Bool {
        guard LoginName.isValid(login) else { return false }
        return try totp.withLock { () throws(PwdirError) -> Bool in try totp.remove(login) }
    }

    // MARK: Helpers

    /// The account's tally file, made if missing. A damaged one is replaced only when the last
    /// unlock (or new password from an administrator) came in a later second than its last write:
    /// that unlock was cut short before it could replace it. Damage in the same second as the
    /// unlock may have come after it, so it stays (locked) until the unlock is run again.
    /// Otherwise `.tallyDamaged`.
    /// `verified: false` leaves the read of the content to the caller's first update.
    private func openTally(_ login: String, record: UserRecord, verified: Bool = true) throws(PwdirError) -> TallyFile {
        let path = tallies.filePath(login)
        do throws(PwdirError) {
            guard let file = try tallies.open(login, create: true) else {
                throw PwdirError.tallyDamaged(login: login, path: path, reason: "it vanished while being opened")
            }
            if verified { _ = try file.read() }
            return file
        } catch {
            guard case .tallyDamaged = error, let reset = record.failuresReset,
                  let st = (try? Sys.lstatIfExists(path)) ?? nil, reset > Int64(st.st_mtim.tv_sec) else { throw error }
            try tallies.make(login, Tally())  // rename(2) replaces whatever is there, a link included
            guard let fresh = try tallies.open(login, create: false) else { throw error }
            return fresh
        }
    }

    /// A random nonce naming one attempt in flight (never 0).
    static func nonce() -> UInt64 {
        let bytes = (try? randomBytes(8)) ?? [1, 0, 0, 0, 0, 0, 0, 0]
        let n = bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        return n == 0 ? 1 : n
    }
}
