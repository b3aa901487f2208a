/// What the system needs to know of an account (named after LDAP's posixAccount): its uid and
/// group numbers, home and shell. pwdir stores them in the record and publishes them to the
/// system as systemd userdb records (`UserdbFolder`); a record without a uid number is not
/// published (the system knows the account some other way, /etc/passwd or LDAP).
extension UserRecord.Key {
    public static let uidNumber = "uidNumber"
    public static let gidNumber = "gidNumber"
    public static let homeDirectory = "homeDirectory"
    public static let loginShell = "loginShell"
}

extension UserRecord {
    public var uidNumber: UInt32? {
        get { self[Key.uidNumber].flatMap { UInt32($0) } }
        set { self[Key.uidNumber] = newValue.map { String($0) } }
    }

    public var gidNumber: UInt32? {
        get { self[Key.gidNumber].flatMap { UInt32($0) } }
        set { self[Key.gidNumber] = newValue.map { String($0) } }
    }

    public var homeDirectory: String? {
        get { self[Key.homeDirectory] }
        set { self[Key.homeDirectory] = newValue }
    }

    public var loginShell: String? {
        get { self[Key.loginShell] }
        set { self[Key.loginShell] = newValue }
    }
}

public enum PosixAccount {
    /// Numbers no account may have: root's, the overflow/nobody ids and (uid_t)-1 and -2.
    static let reserved: Set<UInt32> = [0, 65534, 65535, 4_294_967_294, 4_294_967_295]

    /// A uid or gid number given by an administrator: decimal, 1000 or more (below is the
    /// distribution's system range), never nobody's or (uid_t)-1.
    public static func number(_ text: String, field: String) throws(PwdirError) -> UInt32 {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = UInt32(text) else {
            throw .invalidValue(field: field, reason: "'\(PwdirError.printable(text))' is not a number")
        }
        if n < 1000 { throw .invalidValue(field: field, reason: "\(n) is in the system's range (below 1000); choose 1000 or more") }
        if reserved.contains(n) { throw .invalidValue(field: field, reason: "\(n) is reserved (nobody, or (uid_t)-1); choose another") }
        if n > 2_147_483_647 { throw .invalidValue(field: field, reason: "\(n) is too large; choose at most 2147483647") }
        return n
    }

    /// An absolute path for a home directory or a shell, with nothing that would break a
    /// passwd line (`:`, control characters).
    /// Normalized as systemd requires (no `//`, `.` or `..` component, no trailing `/`), or it
    /// would drop the field without a word.
    public static func validatePath(_ path: String, field: String) throws(PwdirError) {
        guard path.hasPrefix("/") else {
            throw .invalidValue(field: field, reason: "'\(PwdirError.printable(path))' is not an absolute path")
        }
        guard path.utf8.count <= 1024 else { throw .invalidValue(field: field, reason: "the path is longer than 1024 bytes") }
        if path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: ":") }) {
            throw .invalidValue(field: field, reason: "'\(PwdirError.printable(path))' holds a ':' or a control character")
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if path != "/" && parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw .invalidValue(field: field, reason: "'\(PwdirError.printable(path))' is not normalized (no '//', '.', '..' or trailing '/')")
        }
    }

    /// `home_base/login`.
    public static func home(base: String, login: String) -> String { (base == "/" ? "" : base) + "/" + login }

    /// A login systemd would read as a number (and whose file would clash with a `UID.user` link).
    public static func isNumeric(_ login: String) -> Bool { login.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
}
