/// Every failure the core can report. The command turns one into a `pwdir: …` line and an exit
/// status (`message`, `exitStatus`); the module turns one into a PAM code and a syslog line.
public enum PwdirError: Error, Equatable, CustomStringConvertible {
    case invalidLogin(String, reason: String)
    case invalidValue(field: String, reason: String)
    case userExists(String)
    case userNotFound(String)
    case directoryMissing(String)
    case directoryExists(String)
    /// A line of the directory that does not parse; `line` counts from 1.
    case directoryCorrupt(path: String, line: Int, reason: String)
    case unsafeFile(path: String, reason: String)
    case busy(path: String)
    case settings(path: String, line: Int, reason: String)
    case weakPassword(String)
    case passwordMismatch
    case passwordTooLong(max: Int)
    case hashing(String)
    /// The mail command failed; the text says what it said.
    case mail(String)
    case system(SystemError)

    public var description: String { message }

    /// One line saying what went wrong and what to do about it.
    public var message: String {
        switch self {
        case let .invalidLogin(name, reason):
            return "invalid login name '\(Self.printable(name))': \(reason); use 1 to 64 letters, digits, '.', '_', '-' or '@', not starting with '-' or '.'"
        case let .invalidValue(field, reason):
            return "invalid \(field): \(reason)"
        case let .userExists(name):
            return "user '\(name)' already exists; use 'pwdir user modify \(name)' to change it"
        case let .userNotFound(name):
            return "no user '\(Self.printable(name))' in the directory; 'pwdir user find' searches by login, name or email"
        case let .directoryMissing(path):
            return "directory \(path) does not exist; create it with 'pwdir init' or point --db (PWDIR_DB) at it"
        case let .directoryExists(path):
            return "directory \(path) already exists; nothing was changed"
        case let .directoryCorrupt(path, line, reason):
            return "directory \(path) line \(line): \(reason); fix that line (the previous version is \(path)-) and try again"
        case let .unsafeFile(path, reason):
            return "refusing to use \(path): \(reason)"
        case let .busy(path):
            return "directory \(path) is busy (another writer holds \(path).lock); try again in a moment"
        case let .settings(path, line, reason):
            return line > 0 ? "settings \(path) line \(line): \(reason)" : "settings \(path): \(reason)"
        case let .weakPassword(reason):
            return "password refused: \(reason); choose another"
        case .passwordMismatch:
            return "the two passwords do not match; nothing was changed"
        case let .passwordTooLong(max):
            return "password longer than \(max) bytes; choose a shorter one"
        case let .hashing(reason):
            return "password hashing failed: \(reason)"
        case let .mail(reason):
            return "mail not sent: \(reason); check the sendmail setting and the MTA"
        case let .system(e):
            return "\(e.call) \(e.path): \(e.reason)"
        }
    }

    /// Exit status of the command for this error (sysexits-like, stable for scripts).
    public var exitStatus: Int32 {
        switch self {
        case .invalidLogin, .invalidValue, .weakPassword, .passwordMismatch, .passwordTooLong: return 2
        case .userExists, .directoryExists: return 3
        case .userNotFound: return 4
        case .directoryMissing, .directoryCorrupt, .unsafeFile, .settings: return 5
        case .busy: return 6
        case .hashing, .system: return 1
        case .mail: return 7
        }
    }

    /// A name made safe to echo on one line (control characters shown as '?').
    public static func printable(_ s: String, limit: Int = 80) -> String {
        String(s.unicodeScalars.prefix(limit).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }
}

extension PwdirError {
    /// Wraps whatever a block mixing system calls and core checks threw.
    init(_ error: any Error) {
        switch error {
        case let e as PwdirError: self = e
        case let e as SystemError: self = .system(e)
        default: self = .hashing("unexpected error: \(error)")
        }
    }
}
