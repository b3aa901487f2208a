#if canImport(Glibc)
import Glibc
#endif

/// The setuid helper `pwdir-chkpwd`'s side of `ModuleLogic+Checker`: a process without root (a
/// screen locker) asks it to check its own user's password. Like pam_unix's unix_chkpwd, and
/// stricter: only the caller's own account (its real uid's login; root may ask for anyone), the
/// password from a pipe or a socket (never a terminal), at most 511 bytes, read before anything
/// else; then, as root, the same hook logic as the module with the installed paths only (no
/// `db=`/`config=` from the caller), so one hash is spent and the attempt is counted in the same
/// lockout. What the user should be told ("locked until …") goes back to the module.
public enum CheckerService {
    public static let maxPasswordBytes = 511
    static let readTimeoutMilliseconds = 10_000
    /// A refused password costs the caller this long, as unix_chkpwd's does (with deny = 0
    /// nothing else would slow guessing).
    static let failureDelayMilliseconds = 2000
    static let ident = "pwdir-chkpwd"

    public struct Request: Equatable {
        public var mode: String
        public var user: String
        public var service: String
        public var silent = false
        public var debug = false
    }

    /// `auth|account LOGIN --service NAME [--silent] [--debug]`, or nil.
    public static func parse(_ arguments: [String]) -> Request? {
        guard arguments.count >= 4, ["auth", "account"].contains(arguments[0]), arguments[2] == "--service" else { return nil }
        var request = Request(mode: arguments[0], user: arguments[1], service: arguments[3])
        for flag in arguments.dropFirst(4) {
            switch flag {
            case "--silent": request.silent = true
            case "--debug": request.debug = true
            default: return nil
            }
        }
        let serviceOK = (1...64).contains(request.service.utf8.count)
            && request.service.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
        return LoginName.isValid(request.user) && serviceOK ? request : nil
    }

    /// The whole program: returns its exit status; the answer goes to stdout.
    public static func main(_ arguments: [String]) -> Int32 {
        guard let request = parse(arguments) else {
            complain("usage: pwdir-chkpwd auth|account LOGIN --service NAME [--silent] [--debug] (run by pam_pwdir.so, not by hand)")
            return 64
        }
        // Who asks, before anything changes: the real uid and its login.
        let uid = Identity.realUID
        let caller = Identity.realUserLogin()
        var password: SecretBytes?
        if request.mode == "auth" {
            do { password = try readPassword() } catch {
                SystemLog.write(ident: ident, .warning, "refused a check of \(request.user) for uid \(uid): \(error.message)")
                complain(error.message)
                return 1
            }
        }
        if uid != 0 && caller != request.user {
            SystemLog.write(ident: ident, .warning, "uid \(uid) (\(caller ?? "no login")) asked to check \(request.user); refused: only a user's own account")
            answer([], request.mode == "auth" ? .authError : .permissionDenied)
            return 0
        }
        // Root from here on: the caller can no longer signal or stop this process.
        do { try Identity.becomeRoot() } catch {
            complain("cannot become root (\(error.message)); pwdir-chkpwd must be installed setuid root")
            return 1
        }
        let host = CheckerHost(service: request.service, token: password)
        var options = ModuleOptions()
        options.useFirstPass = true
        // No conversation here: a user with a second factor types the code after the password.
        options.codeInPassword = true
        options.silent = request.silent
        options.debug = request.debug
        let logic = ModuleLogic(options: options, host: host, clock: { systemNow() })
        let result = request.mode == "auth" ? logic.authenticate(user: request.user) : logic.accountManagement(user: request.user)
        if request.mode == "auth" && result != .success && result != .userUnknown {
            Sys.sleep(milliseconds: failureDelayMilliseconds)
        }
        answer(host.told, result)
        return 0
    }

    /// The password on stdin: a pipe or a socket, at most `maxPasswordBytes`, then end of file.
    static func readPassword() throws(PwdirError) -> SecretBytes {
        let st: stat
        do { st = try Sys.fstat(0, "standard input") } catch { throw .system(error) }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFIFO || kind == S_IFSOCK else {
            throw .notAllowed("the password must come through a pipe, not a terminal or a file")
        }
        var bytes: [UInt8]
        do {
            bytes = try Sys.readLimited(0, "standard input", limit: maxPasswordBytes + 1, timeoutMilliseconds: readTimeoutMilliseconds)
        } catch { throw .system(error) }
        defer { for i in bytes.indices { bytes[i] = 0 } }
        guard bytes.count <= maxPasswordBytes else { throw .notAllowed("the password is longer than \(maxPasswordBytes) bytes") }
        guard !bytes.contains(0) else { throw .notAllowed("the password holds a NUL byte") }
        return SecretBytes(bytes)
    }

    static func answer(_ told: [(String, Bool)], _ result: ModuleResult) {
        var out = ""
        for (text, isError) in told {
            out += "tell \(isError ? "error" : "info") \(PwdirError.printable(text, limit: 400))\n"
        }
        out += "result \(result.rawValue)\n"
        try? Sys.writeAll(1, "standard output", Array(out.utf8))
    }

    static func complain(_ line: String) {
        try? Sys.writeAll(2, "standard error", Array("pwdir-chkpwd: \(line)\n".utf8))
    }
}

/// The host the helper gives the hook logic: no conversation (the password came on stdin), what
/// to tell the user recorded for the module, logs to syslog.
final class CheckerHost: ModuleHost {
    let service: String
    var authToken: SecretBytes?
    var oldAuthToken: SecretBytes?
    var authenticatedUser: String?
    var told: [(String, Bool)] = []
    private var data: [String: [UInt8]] = [:]

    init(service: String, token: SecretBytes?) {
        self.service = service
        self.authToken = token
    }

    func askSecret(_ prompt: String) -> SecretBytes? { nil }
    func tell(_ text: String, isError: Bool) { told.append((text, isError)) }
    func keep(_ key: String, _ bytes: [UInt8]?) { data[key] = bytes }
    func kept(_ key: String) -> [UInt8]? { data[key] }
    var callerIsRoot: Bool { false }
    func log(_ priority: LogPriority, _ message: String) {
        SystemLog.write(ident: CheckerService.ident, priority, "(\(service)) \(message)")
    }
}
