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
        /// TRUE: the password was set by an administrator for a first login (temp_ttl applies).
        public static let temporary = "pwdirTemporary"
        /// Who locked the account by hand, and when (GeneralizedTime).
        public static let lockedBy = "pwdirLockedBy"
        public static let lockedSince = "pwdirLockedSince"
        /// When an administrator set a password that fails the policy (--allow-weak).
        public static let policyOverride = "pwdirPolicyOverride"
        /// When an administrator last unlocked the account or gave it a new password, and how
        /// many times that happened: the tally keeps the count it has caught up with, and failed
        /// logins and a failure lock from before a newer one no longer count (one write of the
        /// record lifts them, whatever the tally still says; no clock is compared).
        public static let failuresReset = "pwdirFailuresReset"
        public static let failuresResetCount = "pwdirFailuresResetCount"
        /// Attributes that may appear more than once on a line.
        public static let multiValued: Set<String> = [history]
    }

    /// Stands in a record for a password a server holds and pwdir may not read (the LDAP store):
    /// well formed (the account has a password), never the hash of anything (its hash field is
    /// not one yescrypt makes), and never written back.
    public static let heldHash = "$y$j9T$held.by.the.LDAP.server$" + String(repeating: ".", count: 43)

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
        get { attributes.first { Self.same($0.name, name) }?.value }
        set {
            guard let newValue else {
                if attributes.contains(where: { Self.same($0.name, name) }) { attributes.removeAll { Self.same($0.name, name) } }
                return
            }
            guard let i = attributes.firstIndex(where: { Self.same($0.name, name) }) else {
                attributes.append(Attribute(name, newValue))
                return
            }
            attributes[i].value = newValue
            for j in stride(from: attributes.count - 1, to: i, by: -1) where Self.same(attributes[j].name, name) {
                attributes.remove(at: j)
            }
        }
    }

    /// Attribute names compared (lengths first: most differ there, and a million-row import
    /// asks this a few million times).
    @inline(__always)
    static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a == b
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

    /// When failures last stopped counting (see `Key.failuresReset`).
    public var failuresReset: Int64? { self[Key.failuresReset].flatMap(GeneralizedTime.parse) }

    /// How many times failures were made to stop counting (see `Key.failuresResetCount`).
    public var resetGeneration: UInt64 { self[Key.failuresResetCount].flatMap { UInt64($0) } ?? 0 }

    /// Makes every failure recorded so far stop counting: a new reset generation, and its time.
    /// The new generation is above `above` too (the tally's): after the directory was restored
    /// from an older copy, the tally may be ahead of the record, and a reset must still win.
    /// (`formatted`: `now` as GeneralizedTime already, for a batch.)
    public mutating func resetFailures(now: Int64, above: UInt64 = 0, formatted: String? = nil) {
        self[Key.failuresResetCount] = String(max(resetGeneration, above) &+ 1)
        self[Key.failuresReset] = formatted ?? GeneralizedTime.format(now)
    }
}
