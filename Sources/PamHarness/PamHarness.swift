// A PAM application in a few lines: pam_start_confdir with a service file written into a
// temp folder, and a scripted conversation that answers echo-off prompts from a queue and
// records every message. Used by the in-process tests and by `make bench`.
#if canImport(Glibc)
import Glibc
#endif
import CPwdirPAM
import PwdirCore

/// One PAM transaction against a service folder, driven from Swift.
public final class PamClient {
    /// Answers for PAM_PROMPT_ECHO_OFF / ECHO_ON prompts, used in order.
    public var answers: [String]
    /// Every prompt asked, every error and info message shown.
    public private(set) var prompts: [String] = []
    public private(set) var errors: [String] = []
    public private(set) var infos: [String] = []
    /// Runs when a prompt is asked, before it is answered: what happens while the user types.
    public var whilePrompted: ((String) -> Void)?
    private var handle: OpaquePointer!
    private var lastStatus: Int32 = PAM_SUCCESS

    public init(service: String, user: String?, confdir: String, answers: [String] = []) throws {
        self.answers = answers
        var conv = pam_conv(conv: pamClientConversation, appdata_ptr: nil)
        conv.appdata_ptr = Unmanaged.passUnretained(self).toOpaque()
        var h: OpaquePointer?
        let rc = pam_start_confdir(service, user, &conv, confdir, &h)
        guard rc == PAM_SUCCESS, let h else { throw PamClientError.start(rc) }
        handle = h
    }

    deinit {
        if let handle { pam_end(handle, lastStatus) }
    }

    public func authenticate(_ flags: Int32 = 0) -> Int32 { record(pam_authenticate(handle, flags)) }
    public func setcred(_ flags: Int32 = Int32(PAM_ESTABLISH_CRED)) -> Int32 { record(pam_setcred(handle, flags)) }
    public func acctMgmt(_ flags: Int32 = 0) -> Int32 { record(pam_acct_mgmt(handle, flags)) }
    public func chauthtok(_ flags: Int32 = 0) -> Int32 { record(pam_chauthtok(handle, flags)) }
    public func openSession() -> Int32 { record(pam_open_session(handle, 0)) }
    public func closeSession() -> Int32 { record(pam_close_session(handle, 0)) }

    /// Makes PAM_AUTHTOK `token` for the next hooks: pam_wrapper's pam_set_items.so, stacked
    /// above pwdir by `PamFixture.writeService(tokenFromAbove: true)`, sets it from the
    /// environment (an application may not set it itself).
    public func setAuthToken(_ token: String?) {
        if let token { setenv("PAM_AUTHTOK", token, 1) } else { unsetenv("PAM_AUTHTOK") }
    }

    private func record(_ rc: Int32) -> Int32 {
        lastStatus = rc
        return rc
    }

    fileprivate func answer(_ style: Int32, _ text: String) -> String? {
        switch style {
        case PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON:
            prompts.append(text)
            whilePrompted?(text)
            return answers.isEmpty ? nil : answers.removeFirst()
        case PAM_ERROR_MSG:
            errors.append(text)
            return ""
        default:
            infos.append(text)
            return ""
        }
    }
}

public enum PamClientError: Error {
    case start(Int32)
}

private let pamClientConversation: @convention(c) (Int32, UnsafeMutablePointer<UnsafePointer<pam_message>?>?, UnsafeMutablePointer<UnsafeMutablePointer<pam_response>?>?, UnsafeMutableRawPointer?) -> Int32 = { count, messages, responses, appdata in
    guard let messages, let responses, let appdata, count > 0 else { return PAM_CONV_ERR }
    let client = Unmanaged<PamClient>.fromOpaque(appdata).takeUnretainedValue()
    let replies = calloc(Int(count), MemoryLayout<pam_response>.stride)!.assumingMemoryBound(to: pam_response.self)
    for i in 0..<Int(count) {
        guard let m = messages[i] else { continue }
        let text = m.pointee.msg.map { String(cString: $0) } ?? ""
        guard let reply = client.answer(m.pointee.msg_style, text) else {
            for j in 0..<i { free(replies[j].resp) }
            free(replies)
            return PAM_CONV_ERR
        }
        replies[i].resp = strdup(reply)
    }
    responses.pointee = replies
    return PAM_SUCCESS
}

/// A temp folder with a directory, settings and a PAM service file that loads the built
/// module by absolute path with `db=` and `config=` pointing into the folder.
public final class PamFixture: @unchecked Sendable {
    public let root: String
    public let service = "pwdir-test"
    public var db: String { root + "/users" }
    public var config: String { root + "/pwdir.conf" }
    public var confdir: String { root + "/pam.d" }
    public var directory: DirectoryFile { DirectoryFile(path: db) }
    public var tallies: TallyFolder { TallyFolder(directoryPath: db) }
    public var store: FileAccountStore { FileAccountStore(path: db) }

    /// The file that holds `login`'s line: the directory in format 1, its shard in format 2.
    public func fileHolding(_ login: String) throws -> String {
        guard let text = readFile(db).map({ String(decoding: $0, as: UTF8.self) }), text.hasPrefix(DirectoryManifest.header + "\n") else { return db }
        let lines = text.split(separator: "\n")
        return db + ".d/" + lines[2 + DirectoryManifest.shard(of: login)]
    }

    /// The tally of `user` as the module left it.
    public func tally(_ user: String) throws(PwdirError) -> Tally { try tallies.read(user) }

    /// Replaces the tally of `user` (a test setting up failures, a lock or a recovery code).
    public func setTally(_ user: String, _ tally: Tally) throws(PwdirError) { try tallies.make(user, tally) }

    /// `moduleArguments` are added to every line (e.g. "nodelay"); `format` is the directory's.
    public init(moduleArguments: [String] = ["nodelay"], settings: String = "", format: Int = 2) throws {
        var template = Array("/tmp/pwdir-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw PamFixtureError.setup("mkdtemp failed") }
        root = String(cString: made)
        mkdir(confdir, 0o700)
        try writeFile(config, settings)
        try writeService(moduleArguments: moduleArguments)
        try directory.create(format: format)
    }

    deinit {
        _ = system("rm -rf '\(root)'")
    }

    /// pam_wrapper's module that sets PAM items from environment variables.
    public static let setItemsModule = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so"

    /// Rewrites the service file: the module in all four stacks, below pam_set_items.so when
    /// `tokenFromAbove` (to play a module that has already asked for the password).
    public func writeService(moduleArguments: [String], tokenFromAbove: Bool = false) throws {
        let args = (["db=\(db)", "config=\(config)"] + moduleArguments).joined(separator: " ")
        let module = PamFixture.modulePath
        var lines: [String] = []
        for stack in ["auth", "account", "password", "session"] {
            if tokenFromAbove && (stack == "auth" || stack == "password") { lines.append("\(stack) required \(Self.setItemsModule)") }
            lines.append("\(stack) required \(module) \(args)")
        }
        let text = lines.joined(separator: "\n") + "\n"
        try writeFile(confdir + "/" + service, text)
        try writeFile(confdir + "/other", "auth required pam_deny.so\naccount required pam_deny.so\npassword required pam_deny.so\nsession required pam_deny.so\n")
    }

    /// Adds `login` with `password` (nil: no password), as the command would.
    public func addUser(_ login: String, password: String?, mustChange: Bool = false, locked: Bool = false, cost: Int = 5) throws {
        let hash = try password.map { try Yescrypt.hashNew(SecretBytes(Array($0.utf8)), cost: cost) }
        try directory.update { (records) throws(PwdirError) in
            var r = UserRecord(login: login)
            if let hash { r.setPassword(hash: hash, now: systemNow(), mustChange: mustChange, temporary: mustChange) }
            if locked { r[UserRecord.Key.lockedTime] = UserRecord.adminLockValue }
            records.append(r)
            records.sort { $0.login.utf8.lexicographicallyPrecedes($1.login.utf8) }
        }
        try tallies.make(login, Tally())
    }

    public func client(_ user: String?, answers: [String] = []) throws -> PamClient {
        try PamClient(service: service, user: user, confdir: confdir, answers: answers)
    }

    /// The built module: $PWDIR_MODULE, else .build/release (then debug) under the package.
    public static var modulePath: String {
        if let p = getenv("PWDIR_MODULE") { return String(cString: p) }
        let release = packageRoot + "/.build/release/libpam_pwdir.so"
        return access(release, R_OK) == 0 ? release : packageRoot + "/.build/debug/libpam_pwdir.so"
    }

    public static var packageRoot: String {
        var path = "\(#filePath)"
        for _ in 0..<3 { path = FilePathText.folder(of: path) }  // Sources/PamHarness/PamHarness.swift
        return path
    }

    public func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    public func writeFile(_ path: String, _ text: String) throws {
        guard let f = fopen(path, "wb") else { throw PamFixtureError.setup("cannot write \(path)") }
        fputs(text, f)
        fclose(f)
        chmod(path, 0o600)
    }
}

public enum PamFixtureError: Error {
    case setup(String)
}

/// Monotonic nanoseconds, for measurements.
public func monotonicNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

public func median(_ values: [UInt64]) -> Double {
    let s = values.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? Double(s[s.count / 2]) : Double(s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
