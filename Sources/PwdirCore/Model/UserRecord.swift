/// One user of the directory: the login and its attributes, in order. Attributes are named after
/// their LDAP / password-policy counterparts (inetOrgPerson, draft-behera-ldap-password-policy),
/// so the directory maps one-to-one onto LDIF. Attributes this version does not know are kept
/// as they are when the record is rewritten.
public struct UserRecord: Equatable, Sendable {
    public struct Attribute: Equatable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }

        /// Byte-wise: a change of Unicode normalisation alone is a change to write.
        public static func == (a: Attribute, b: Attribute) -> Bool {
            a.name.utf8.elementsEqual(b.name.utf8) && a.value.utf8.elementsEqual(b.value.utf8)
        }
    }

    /// Attribute names pwdir reads and writes.
    public enum Key {
        public static let uid = "uid"
        public static let fullName = "cn"
        public static let mail = "mail"
        public static let recoveryMail = "pwdirRecoveryMail"
        public static let noMailbox = "pwdirNoMailbox"
        public static let role = "pwdirRole"
        public static let manager = "manager"
        public static let language = "preferredLanguage"
        /// `{CRYPT}` + the yescrypt hash, as OpenLDAP stores crypt hashes.
        public static let password = "userPassword"
        public static let passwordChanged = "pwdChangedTime"
        /// TRUE: the password was set by an administrator and must be changed at next login.
        public static let mustChange = "pwdReset"
        /// When the account was locked; `000001010000Z` is a lock by an administrator.
        public static let lockedTime = "pwdAccountLockedTime"
        public static let history = "pwdHistory"
        public static let created = "createTimestamp"
        /// Attributes that may appear more than once on a line.
        public static let multiValued: Set<String> = [history]
    }

    /// The value of `pwdAccountLockedTime` meaning "locked by an administrator until unlocked".
    public static let adminLockValue = "000001010000Z"
    static let cryptPrefix = "{CRYPT}"

    public var login: String
    /// All attributes but `uid`, in file order.
    public private(set) var attributes: [Attribute]

    public init(login: String, attributes: [Attribute] = []) {
        self.login = login
        self.attributes = attributes
    }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        get { attributes.first { $0.name == name }?.value }
        set {
            guard let newValue else {
                attributes.removeAll { $0.name == name }
                return
            }
            guard let i = attributes.firstIndex(where: { $0.name == name }) else {
                attributes.append(Attribute(name, newValue))
                return
            }
            attributes[i].value = newValue
            for j in stride(from: attributes.count - 1, to: i, by: -1) where attributes[j].name == name {
                attributes.remove(at: j)
            }
        }
    }

    /// Every value of a multi-valued attribute, in order.
    public func values(_ name: String) -> [String] {
        attributes.filter { $0.name == name }.map(\.value)
    }

    /// Replaces every value of `name`.
    public mutating func setValues(_ name: String, _ values: [String]) {
        let at = attributes.firstIndex { $0.name == name } ?? attributes.count
        attributes.removeAll { $0.name == name }
        attributes.insert(contentsOf: values.map { Attribute(name, $0) }, at: min(at, attributes.count))
    }

    // MARK: Typed views

    public var fullName: String? {
        get { self[Key.fullName] }
        set { self[Key.fullName] = newValue }
    }

    public var mail: String? {
        get { self[Key.mail] }
        set { self[Key.mail] = newValue }
    }

    public var recoveryMail: String? {
        get { self[Key.recoveryMail] }
        set { self[Key.recoveryMail] = newValue }
    }

    public var role: Role {
        get { self[Key.role].flatMap(Role.init(rawValue:)) ?? .user }
        set { self[Key.role] = newValue == .user ? nil : newValue.rawValue }
    }

    public var manager: String? {
        get { self[Key.manager] }
        set { self[Key.manager] = newValue }
    }

    /// The stored yescrypt hash, if any (without the `{CRYPT}` scheme).
    public var passwordHash: String? {
        get {
            guard let v = self[Key.password], v.hasPrefix(Self.cryptPrefix) else { return nil }
            return String(v.dropFirst(Self.cryptPrefix.count))
        }
        set { self[Key.password] = newValue.map { Self.cryptPrefix + $0 } }
    }

    public var hasPassword: Bool { passwordHash.map(Yescrypt.isWellFormed) ?? false }

    public var mustChangePassword: Bool {
        get { self[Key.mustChange] == "TRUE" }
        set { self[Key.mustChange] = newValue ? "TRUE" : nil }
    }

    public var isAdminLocked: Bool { self[Key.lockedTime] == Self.adminLockValue }

    public var passwordChangedTime: Int64? { self[Key.passwordChanged].flatMap(GeneralizedTime.parse) }
}

/// What a directory user may do with `pwdir` under sudo.
public enum Role: String, CaseIterable, Sendable {
    case user, manager, admin
}

/// LDAP GeneralizedTime in UTC, `YYYYMMDDHHMMSSZ`, as the password-policy attributes use.
public enum GeneralizedTime {
    public static func format(_ epoch: Int64) -> String {
        var days = epoch >= 0 ? epoch / 86400 : (epoch - 86399) / 86400
        let secs = epoch - days * 86400
        // civil-from-days (Howard Hinnant), proleptic Gregorian
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let yyyy = String(repeating: "0", count: max(0, 4 - String(y).count)) + String(y)
        return "\(yyyy)\(two(m))\(two(d))\(two(secs / 3600))\(two(secs % 3600 / 60))\(two(secs % 60))Z"
    }

    /// `YYYY-MM-DD HH:MM UTC`, for people.
    public static func readable(_ epoch: Int64) -> String {
        let c = Array(format(epoch))
        return "\(String(c[0..<4]))-\(String(c[4..<6]))-\(String(c[6..<8])) \(String(c[8..<10])):\(String(c[10..<12])) UTC"
    }

    /// Parses `YYYYMMDDHHMMSSZ`; nil for anything else.
    public static func parse(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        guard b.count == 15, b[14] == UInt8(ascii: "Z"), b[0..<14].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        func num(_ r: Range<Int>) -> Int64 { r.reduce(0) { $0 * 10 + Int64(b[$1] - 48) } }
        let y = num(0..<4), m = num(4..<6), d = num(6..<8), hh = num(8..<10), mm = num(10..<12), ss = num(12..<14)
        guard (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss < 60 else { return nil }
        // days-from-civil (Howard Hinnant)
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = m > 2 ? m - 3 : m + 9
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let epoch = days * 86400 + hh * 3600 + mm * 60 + ss
        return format(epoch) == s ? epoch : nil  // 31 April, 29 February 2023 and the like do not exist
    }
}
