/// Module arguments (`db=`, `config=`, flags), parsed by a pure function.
public struct ModuleOptions: Equatable, Sendable {
    public var db = Paths.defaultDirectory
    public var config = Paths.defaultSettings
    public var debug = false
    public var nodelay = false
    public var useFirstPass = false
    public var tryFirstPass = false
    public var useAuthtok = false
    public var silent = false
    /// For clients with a single prompt: a user with a second factor types the six-digit code
    /// right after the password, in one answer.
    public var codeInPassword = false
    /// The `pwdir` binary the module runs for mail (recovery codes and notices); nil: the
    /// installed one (`Paths.installedHelper`).
    public var helper: String?
    /// The helper that checks a password for a caller without root; nil: the installed one.
    public var chkpwd: String?
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
            case "code_in_password": o.codeInPassword = true
            default:
                if let v = value(a, "db") { o.db = v }
                else if let v = value(a, "config") { o.config = v }
                else if let v = value(a, "pwdir") { o.helper = v }
                else if let v = value(a, "chkpwd") { o.chkpwd = v }
                else { o.unknown.append(a) }
            }
        }
        return o
    }

    private static func value(_ argument: String, _ key: String) -> String? {
        guard argument.hasPrefix(key + "="), argument.count > key.count + 1 else { return nil }
        return String(argument.dropFirst(key.count + 1))
    }
}
