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
        guard n >= 1000, !reserved.contains(n), n <= 2_147_483_647 else {
            throw .invalidValue(field: field, reason: "\(n) is reserved (system accounts are below 1000; nobody is 65534); choose from 1000 to 2147483647")
        }
        return n
    }

    /// An absolute path for a home directory or a shell, with nothing that would break a
    /// passwd line (`:`, control characters).
    public static func validatePath(_ path: String, field: String) throws(PwdirError) {
        guard path.hasPrefix("/"), path.utf8.count <= 1024 else {
            throw .invalidValue(field: field, reason: "'\(PwdirError.printable(path))' is not an absolute path")
        }
        if path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: ":") }) {
            throw .invalidValue(field: field, reason: "'\(PwdirError.printable(path))' holds a ':' or a control character")
        }
    }
}
