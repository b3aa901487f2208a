#if canImport(Glibc)
import Glibc
#endif

/// The accounts as the PAM module reaches them on a host whose store is LDAP: through pwdird,
/// the root daemon that holds the LDAP connection, so that libldap (and gnutls, sasl) never
/// load into sshd. The module's hooks need only what a login and a password change need;
/// everything else is the pwdir command's, which talks to the server itself.
public final class PwdirdClientStore: AccountStore {
    public let socketPath: String
    /// `users.known/`: see `Paths.known`.
    let knownFolder: String?
    let timeoutMilliseconds: Int
    private var policy: Settings?

    public var location: String { "pwdird at \(socketPath)" }

    public init(socket: String, knownFolder: String?, timeoutMilliseconds: Int = 15_000) {
        socketPath = socket
        self.knownFolder = knownFolder
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    static let byCommand = PwdirError.notAllowed("on an LDAP host this is done by the pwdir command, not by the module")

    /// One request and its answer; `.server` when pwdird cannot be reached or says it could
    /// not do it.
    func ask(_ verb: String, _ login: String, secret: SecretBytes? = nil, _ extra: [(String, String)] = []) throws(PwdirError) -> PwdirdMessage {
        var request = PwdirdMessage()
        request.add("pwdird", "1")
        request.add("verb", verb)
        request.add("login", login)
        for (k, v) in extra { request.add(k, v) }
        var bytes = request.encoded()
        if let secret {
            bytes += Array("secret \(secret.count)\n".utf8)
            secret.withBytes { bytes.append(contentsOf: $0) }
            bytes.append(0x0A)
        }
        defer { for i in bytes.indices { bytes[i] = 0 } }
        func down(_ why: String) -> PwdirError {
            .server("pwdird cannot be asked (\(why)); check that pwdird runs (systemctl status pwdird) and pwdird_socket = \(socketPath)")
        }
        try checkFolder()
        let fd: Int32
        do { fd = try UnixSocket.connect(socketPath) } catch { throw down(error.description) }
        defer { UnixSocket.close(fd) }
        guard UnixSocket.peerUID(fd) == 0 else { throw down("the process at the socket is not root's") }
        let answerBytes: [UInt8]
        do {
            try UnixSocket.send(fd, bytes, path: socketPath)
            UnixSocket.shutdownWriting(fd)
            answerBytes = try UnixSocket.receive(fd, path: socketPath, limit: PwdirdMessage.maxBytes + 1, timeoutMilliseconds: timeoutMilliseconds)
        } catch { throw down(error.description) }
        guard let answer = PwdirdMessage.decode(answerBytes), let result = answer.text("result") else { throw down("its answer is garbled") }
        guard result == "ok" else {
            throw PwdirdCodec.error(kind: answer.text("kind") ?? "server", message: answer.text("message") ?? "pwdird refused", login: login)
        }
        return answer
    }

    /// The socket's folder is root's and nobody else may write it: another user cannot put a
    /// socket of their own in its place.
    func checkFolder() throws(PwdirError) {
        let folder = FilePathText.folder(of: socketPath)
        let st: stat?
        do { st = try Sys.lstatIfExists(folder) } catch { throw .system(error) }
        guard let st else { throw .server("pwdird's socket folder \(folder) is missing; start pwdird (systemctl start pwdird)") }
        guard st.st_mode & S_IFMT == S_IFDIR, st.st_uid == 0, st.st_mode & 0o022 == 0 else {
            throw .unsafeFile(path: folder, reason: "pwdird's socket folder must be root's and writable by root alone")
        }
    }

    /// Remembers that `login` is one of pwdir's accounts (see `Paths.known`).
    func markKnown(_ login: String) {
        guard let knownFolder, Sys.effectiveUID == 0, LoginName.isValid(login) else { return }
        let path = knownFolder + "/" + login
        if (try? Sys.lstatIfExists(path)) ?? nil != nil { return }
        guard (try? FileSafety.ensureFolder(knownFolder, others: 0o022, advice: "run chmod 700 on it")) != nil else { return }
        if let fd = try? Sys.open(path, O_WRONLY | O_CREAT | O_NOFOLLOW, 0o600) { Sys.close(fd) }
    }

    // MARK: What the module asks

    public func record(_ login: String) throws(PwdirError) -> UserRecord? {
        let answer = try ask("record", login)
        guard let bytes = answer["record"] else { return nil }
        guard let r = PwdirdCodec.record(bytes) else { throw .server("pwdird sent a record that cannot be read") }
        markKnown(login)
        return r
    }

    public func tally(_ login: String) -> TallyReading {
        do {
            let answer = try ask("tally", login)
            guard let t = answer.text("tally").flatMap(PwdirdCodec.tally) else { return .unavailable(.server("pwdird sent a tally that cannot be read")) }
            return .tally(t)
        } catch {
            return .unavailable(error)
        }
    }

    public func effectiveSettings(_ settings: Settings) -> Settings {
        if let policy { return policy }
        guard let answer = try? ask("policy", "-"), let s = answer.text("policy").flatMap({ PwdirdCodec.policy($0, into: settings) }) else { return settings }
        policy = s
        return s
    }

    public func authenticate(_ login: String, password: SecretBytes, settings: Settings, now: Int64, settling: PasswordSettlement) -> AuthenticationOutcome {
        // Longer than pwdird takes: no password is, so it is a wrong one, counted as such.
        let sent: SecretBytes
        do { sent = password.count > PwdirdService.maxSecretBytes ? try SecretBytes.standIn() : password } catch { return .unavailable(error) }
        let answer: PwdirdMessage
        do { answer = try ask("authenticate", login, secret: sent) } catch { return .unavailable(error) }
        let record = answer["record"].flatMap(PwdirdCodec.record)
        guard let outcome = answer.text("outcome").flatMap({ PwdirdCodec.outcome($0, record: record) }) else {
            return .unavailable(.server("pwdird sent an answer that cannot be read"))
        }
        if case .unknownUser = outcome {} else if case .unavailable = outcome {} else { markKnown(login) }
        return outcome
    }

    @discardableResult
    public func setPassword(_ login: String, to password: SecretBytes, by setter: PasswordSetter, settings: Settings, now: Int64) throws(PwdirError) -> PasswordReport {
        guard setter == .user else { throw Self.byCommand }
        let answer = try ask("set-password", login, secret: password)
        guard let report = answer.text("report").flatMap(PwdirdCodec.report) else { throw .server("pwdird sent an answer that cannot be read") }
        return report
    }

    public func claimRecoveryCode(_ login: String, code: SecretBytes, settings: Settings, now: Int64) -> RecoveryClaimOutcome {
        let answer: PwdirdMessage
        do { answer = try ask("recovery-claim", login, secret: code) } catch { return .unavailable(error) }
        if let claim = answer.text("claim").flatMap(PwdirdCodec.claim) {
            markKnown(login)
            return .claimed(claim)
        }
        switch answer.text("outcome") {
        case "refused": markKnown(login); return .refused
        case "unknown-user": return .unknownUser
        default: return .unavailable(.server("pwdird sent an answer that cannot be read"))
        }
    }

    public func releaseRecoveryClaim(_ login: String, claim: RecoveryClaim) {
        _ = try? ask("recovery-release", login, [("claim", "\(claim.nonce) \(claim.codeHash)")])
    }

    public func finishRecovery(_ login: String, claim: RecoveryClaim, password: SecretBytes, settings: Settings, now: Int64) throws(PwdirError) {
        _ = try ask("recovery-finish", login, secret: password, [("claim", "\(claim.nonce) \(claim.codeHash)")])
    }

    // MARK: Not the module's

    public func allRecords() throws(PwdirError) -> [UserRecord] { throw Self.byCommand }
    public func forEachRecord(containing needle: String?, _ body: (UserRecord) throws(PwdirError) -> Void) throws(PwdirError) { throw Self.byCommand }
    public func loginsWithTallies() -> Set<String>? { nil }
    public func verifySecondFactor(_ login: String, code: SecretBytes, passwordMatched: Bool, settings: Settings, now: Int64) -> SecondFactorOutcome {
        let answer: PwdirdMessage
        do { answer = try ask("second-factor", login, secret: code, [("matched", passwordMatched ? "1" : "0")]) } catch { return .refused(.unavailable(error)) }
        guard let outcome = answer.text("outcome").flatMap({ PwdirdCodec.secondFactor($0, record: answer["record"].flatMap(PwdirdCodec.record)) }) else {
            return .refused(.unavailable(.server("pwdird sent an answer that cannot be read")))
        }
        return outcome
    }
    public func storeRecoveryCode(_ login: String, hash: String, settings: Settings, now: Int64) throws(PwdirError) { throw Self.byCommand }
    public func dropRecoveryCode(_ login: String, hash: String) throws(PwdirError) {}
    public func create(format: Int) throws(PwdirError) { throw Self.byCommand }
    public func migrate() throws(PwdirError) -> Int? { nil }
    public func add(_ record: UserRecord, now: Int64, completing: (inout UserRecord) throws(PwdirError) -> Void) throws(PwdirError) { throw Self.byCommand }
    public func update<T>(_ login: String, _ change: (inout UserRecord) throws(PwdirError) -> T) throws(PwdirError) -> T { throw Self.byCommand }
    public func updateAll<T>(_ change: (inout [UserRecord]) throws(PwdirError) -> T) throws(PwdirError) -> T { throw Self.byCommand }
    public func unlock(_ login: String, settings: Settings, now: Int64) throws(PwdirError) -> UnlockReport { throw Self.byCommand }
    public func restoreFailures(_ login: String, failures: [Int64], lockedTime: Int64?, generation: UInt64) throws(PwdirError) { throw Self.byCommand }
    public func remove(_ login: String) throws(PwdirError) { throw Self.byCommand }
    /// Whether it cannot be told (pwdird down), the code step fails closed.
    public func hasSecondFactor(_ login: String) -> Bool {
        guard let answer = try? ask("has-second-factor", login) else { return LoginName.isValid(login) }
        return answer.text("second-factor") != "0"
    }
    public func loginsWithSecondFactors() -> Set<String> { [] }
    public func secondFactor(_ login: String) throws(PwdirError) -> SecondFactorSummary? { nil }
    public func enrolSecondFactor(_ login: String, key: SecretBytes, now: Int64) throws(PwdirError) { throw Self.byCommand }
    public func setSecondFactorRecoveryCodes(_ login: String, _ codes: [TotpRecoveryCode]) throws(PwdirError) { throw Self.byCommand }
    public func removeSecondFactor(_ login: String) throws(PwdirError) -> Bool { false }
}
