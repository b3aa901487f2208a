/// Every failure pwdir can report, from the core, the module and the command alike. The command
/// turns one into a `pwdir: …` line (`message`) and an exit status (`exitStatus`); the module
/// turns one into a syslog line and a PAM result. One enum, mapped in one place each.
public enum PwdirError: Error, Equatable, CustomStringConvertible {
    // Bad input: exit status 2.
    case invalidLogin(String, reason: String)
    case invalidValue(field: String, reason: String)
    case weakPassword(String)
    case passwordMismatch
    case passwordTooLong(max: Int)
    // Already there: 3.
    case userExists(String)
    case directoryExists(String)
    // Not there: 4.
    case userNotFound(String)
    // A file or a setting pwdir cannot use: 5.
    case directoryMissing(String)
    case folderMissing(String)
    /// A line of the directory that does not parse; `line` counts from 1.
    case directoryCorrupt(path: String, line: Int, reason: String)
    /// An account's failure tally that cannot be read safely: the account counts as locked.
    case tallyDamaged(login: String, path: String, reason: String)
    case unsafeFile(path: String, reason: String)
    case settings(path: String, line: Int, reason: String)
    /// dictcheck is on and libcrack's dictionary file cannot be read: no password can be checked.
    case dictionaryMissing(String)
    // Someone else is at it: 6.
    case busy(path: String)
    /// The file was replaced by something that ignored the lock.
    case changedMeanwhile(String)
    /// The account was locked by an administrator while the change was being made.
    case lockedMeanwhile(String)
    /// A recovery code was sent too recently; `retryAfter` is when another may be.
    case rateLimited(login: String, retryAfter: Int64)
    // Mail: 7.
    /// The mail command failed; the text says what it said.
    case mail(String)
    // Not allowed: 77.
    case notAllowed(String)
    // Usage of the command: 64.
    case usage(String)
    // The system: 1.
    case hashing(String)
    case system(SystemError)
    /// The directory server (LDAP, or pwdird which holds its connection) cannot be reached or
    /// answered an error: what happened and what to check.
    case server(String)
    /// The change was written and renamed into place, but making that durable failed: it may
    /// or may not survive a crash.
    case mayHaveBeenApplied(path: String, SystemError)

    public var description: String { message }

    /// One line saying what went wrong and what to do about it.
    public var message: String {
        switch self {
        case let .invalidLogin(name, reason):
            return "invalid login name '\(Self.printable(name))': \(reason); use 1 to 64 letters, digits, '.', '_', '-' or '@', not starting with '-' or '.'"
        case let .invalidValue(field, reason):
            return "\(field): \(reason)"
        case let .weakPassword(reason):
            return "password refused: \(reason); choose another"
        case .passwordMismatch:
            return "the two passwords do not match; nothing was changed"
        case let .passwordTooLong(max):
            return "password longer than \(max) bytes; choose a shorter one"
        case let .userExists(name):
            return "user '\(Self.printable(name))' already exists; use 'pwdir user modify \(Self.printable(name))' to change it"
        case let .directoryExists(path):
            return "directory \(path) already exists; nothing was changed"
        case let .userNotFound(name):
            return "no user '\(Self.printable(name))' in the directory; 'pwdir user find' searches by login, name or email"
        case let .directoryMissing(path):
            return "directory \(path) does not exist; create it with 'pwdir init' or point --db (PWDIR_DB) at it"
        case let .folderMissing(folder):
            return "folder \(folder) does not exist; create it first (install -d -m 0700 \(folder))"
        case let .directoryCorrupt(path, line, reason):
            return "directory \(path) line \(line): \(reason); fix that line (the previous version is \(path)-) and try again"
        case let .tallyDamaged(login, path, reason):
            return "the failure tally of \(login) (\(path)) cannot be read safely: \(reason); the account counts as locked until 'pwdir unlock \(login)'"
        case let .unsafeFile(path, reason):
            return "refusing to use \(path): \(reason)"
        case let .dictionaryMissing(path):
            return "the password dictionary \(path) is missing, so no new password can be checked; install cracklib-runtime (which builds it) or set dictcheck = 0 in pwdir.conf"
        case let .settings(path, line, reason):
            return line > 0 ? "settings \(path) line \(line): \(reason)" : "settings \(path): \(reason)"
        case let .busy(path):
            return "\(path) is busy (another writer holds its lock); try again in a moment"
        case let .changedMeanwhile(path):
            return "\(path) was replaced by another program while pwdir was changing it; nothing was written, try again"
        case let .lockedMeanwhile(login):
            return "\(login) was locked by an administrator meanwhile; nothing was changed"
        case let .rateLimited(login, retryAfter):
            return "a recovery code was sent to \(login) a short while ago and is still valid; another can be sent after \(GeneralizedTime.readable(retryAfter))"
        case let .mail(reason):
            return "mail not sent: \(reason); check the sendmail setting and the MTA"
        case let .notAllowed(reason):
            return reason
        case let .usage(reason):
            return "\(reason) (see 'pwdir help')"
        case let .hashing(reason):
            return "password hashing failed: \(reason)"
        case let .system(e):
            return e.description
        case let .server(reason):
            return reason
        case let .mayHaveBeenApplied(path, e):
            return "the change to \(path) was written but \(e.description): it may have been applied; check with 'pwdir user show' before trying again"
        }
    }

    /// Exit status of the command for this error (sysexits-like, stable for scripts).
    public var exitStatus: Int32 {
        switch self {
        case .invalidLogin, .invalidValue, .weakPassword, .passwordMismatch, .passwordTooLong: return 2
        case .userExists, .directoryExists: return 3
        case .userNotFound: return 4
        case .directoryMissing, .folderMissing, .directoryCorrupt, .tallyDamaged, .unsafeFile, .settings, .dictionaryMissing: return 5
        case .busy, .changedMeanwhile, .lockedMeanwhile, .rateLimited: return 6
        case .mail: return 7
        case .notAllowed: return 77
        case .usage: return 64
        case .hashing, .system, .mayHaveBeenApplied, .server: return 1
        }
    }

    /// The reason in words a user at a login prompt may read (no paths, no advice for
    /// administrators).
    public var reasonForUser: String {
        switch self {
        case let .weakPassword(reason): return reason
        case let .passwordTooLong(max): return "it is longer than \(max) bytes"
        case .busy, .changedMeanwhile: return "the directory is busy"
        case .lockedMeanwhile: return "the account was locked meanwhile"
        case .mayHaveBeenApplied: return "it may have been changed; try the new password"
        case .dictionaryMissing: return "the password checks cannot run on this host; tell your administrator"
        default: return "the password directory cannot be used right now"
        }
    }

    /// A value made safe to echo on one line: C0 and C1 control characters, bidirectional
    /// embeddings, overrides and isolates, line and paragraph separators and a few invisible
    /// format characters are shown as `\u{…}`; at most `limit` characters.
    public static func printable(_ s: String, limit: Int = 80) -> String {
        var out = ""
        var n = 0
        for u in s.unicodeScalars {
            if n == limit { out += "…"; break }
            n += 1
            if isUnsafeToShow(u) {
                out += "\\u{\(String(u.value, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Characters that must not reach a terminal, a log line or a table as they are.
    public static func isUnsafeToShow(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0..<0x20, 0x7F..<0xA0: return true  // C0, DEL, C1 (0x9B is a terminal's CSI)
        case 0x2028...0x202E, 0x2066...0x2069: return true  // line/paragraph separators, bidi embeddings, overrides, isolates
        case 0xFEFF, 0xFFF9...0xFFFB: return true  // invisible format characters
        default: return false
        }
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
