#if canImport(Glibc)
import Glibc
#endif
import CPwdirLDAP
import PwdirCore

/// Where the LDAP servers are and how to reach them, from pwdir.conf.
public struct LDAPServer: Sendable {
    public var uris: String
    public var startTLS: Bool
    public var caFile: String?
    public var timeoutMilliseconds: Int32
    public var base: String
    public var bindDN: String
    public var secretFile: String

    public init(settings: Settings) throws(PwdirError) {
        guard settings.store == .ldap, let base = settings.ldapBase, let bindDN = settings.ldapBindDN, !settings.ldapURIs.isEmpty else {
            throw .notAllowed("the LDAP store is not configured; set store = ldap, ldap_uri, ldap_base and ldap_bind_dn in pwdir.conf")
        }
        uris = settings.ldapURIs.joined(separator: " ")
        startTLS = settings.ldapTLS
        caFile = settings.ldapCAFile
        timeoutMilliseconds = Int32(settings.ldapTimeout * 1000)
        self.base = base
        self.bindDN = bindDN
        secretFile = settings.ldapSecretFile
    }
}

/// LDAP result codes pwdir tells apart.
public enum LDAPCode {
    public static let success: Int32 = 0
    public static let noSuchObject: Int32 = 32
    public static let invalidCredentials: Int32 = 49
    public static let busy: Int32 = 51
    public static let unavailable: Int32 = 52
    public static let alreadyExists: Int32 = 68
    public static let assertionFailed: Int32 = 122

    /// The server could not be reached or stopped answering (libldap's own codes, and a
    /// server that says it is busy or unavailable).
    public static func unreachable(_ code: Int32) -> Bool {
        code == CPWDIR_LDAP_SERVER_DOWN || code == CPWDIR_LDAP_TIMEOUT || code == CPWDIR_LDAP_CONNECT_ERROR || code == busy || code == unavailable
    }

    public static func text(_ code: Int32) -> String { String(cString: cpwdir_ldap_err2string(code)) }
}

/// The password-policy control's answer (draft-behera).
public enum PolicyError: Int32, Sendable {
    case passwordExpired = 0, accountLocked = 1, changeAfterReset = 2, passwordModNotAllowed = 3
    case mustSupplyOldPassword = 4, insufficientPasswordQuality = 5, passwordTooShort = 6
    case passwordTooYoung = 7, passwordInHistory = 8, passwordTooLong = 9, noError = 65535
}

/// What a bind or a modify came to.
public struct LDAPAnswer: Sendable {
    public var code: Int32
    /// nil: the answer carried no password-policy control (an unknown DN, a server without ppolicy).
    public var policy: PolicyError?
    /// Seconds before the password expires (-1: no warning).
    public var expire: Int32
    public var diagnostic: String
}

/// One modification of an entry.
public struct LDAPChange: Sendable {
    public enum Op: Int32, Sendable { case add = 0, delete = 1, replace = 2 }
    public var op: Op
    public var name: String
    public var values: [String]

    public init(_ op: Op, _ name: String, _ values: [String] = []) {
        self.op = op
        self.name = name
        self.values = values
    }
}

/// A connection bound as the service identity (or, for a user's bind, a fresh anonymous one).
/// When the server went away (restarted, failed over), the next operation opens a new handle
/// and tries once more: libldap's old handle stays dead.
public final class LDAPConnection {
    public let server: LDAPServer
    private var handle: UnsafeMutableRawPointer?
    private let secret: SecretBytes?

    /// A connection bound as `ldap_bind_dn`, with the password from `ldap_secret_file`.
    public init(service server: LDAPServer) throws(PwdirError) {
        self.server = server
        secret = try LDAPServiceSecret.read(server.secretFile)
    }

    private init(anonymous server: LDAPServer) {
        self.server = server
        secret = nil
    }

    deinit { if let handle { cpwdir_ldap_close(handle) } }

    /// libldap's global state, made once before threads open connections (pwdird's main).
    public static func initializeLibrary() { cpwdir_ldap_initialize() }

    func failure(_ code: Int32, _ doing: String) -> PwdirError {
        if LDAPCode.unreachable(code) {
            return .server("the LDAP server (\(server.uris)) cannot be reached while \(doing) (\(LDAPCode.text(code))); check ldap_uri and that slapd runs")
        }
        var text = LDAPCode.text(code)
        let diag = diagnostic()
        if !diag.isEmpty { text += ": " + diag }
        return .server("the LDAP server refused \(doing) (\(PwdirError.printable(text, limit: 200)))")
    }

    /// An open handle, bound as the service identity when there is one.
    private func opened() throws(PwdirError) -> UnsafeMutableRawPointer {
        if let handle { return handle }
        var h: UnsafeMutableRawPointer?
        let rc = cpwdir_ldap_open(server.uris, server.startTLS ? 1 : 0, server.caFile, server.timeoutMilliseconds, &h)
        guard rc == 0, let h else {
            if rc == -12 /* LDAP_PARAM_ERROR */ && server.caFile != nil {
                throw .settings(path: server.caFile!, line: 0, reason: "libldap cannot use this CA file; check ldap_ca_file")
            }
            throw failure(rc, "connecting")
        }
        if let secret {
            var pp: Int32 = -1, expire: Int32 = -1
            let brc = secret.withBytes { b in cpwdir_ldap_bind(h, server.bindDN, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count, &pp, &expire) }
            guard brc == 0 else {
                cpwdir_ldap_close(h)
                if LDAPCode.unreachable(brc) { throw failure(brc, "binding as \(server.bindDN)") }
                throw .server("the LDAP server refused the service identity \(server.bindDN) (\(LDAPCode.text(brc))); check ldap_bind_dn and ldap_secret_file")
            }
        }
        handle = h
        return h
    }

    /// Runs `body` on the handle; when the server is out of reach, once more on a new handle
    /// (`retry`: not for a user's bind, which the server may have counted already).
    private func run(_ doing: String, retry: Bool = true, _ body: (UnsafeMutableRawPointer) -> Int32) throws(PwdirError) -> Int32 {
        for attempt in 0..<(retry ? 2 : 1) {
            let h = try opened()
            let rc = body(h)
            if LDAPCode.unreachable(rc) {
                cpwdir_ldap_close(h)
                handle = nil
                if attempt == 0 && retry { continue }
                throw failure(rc, doing)
            }
            return rc
        }
        throw failure(CPWDIR_LDAP_SERVER_DOWN, doing)
    }

    // MARK: Operations

    public enum Scope: Int32 { case base = 0, oneLevel = 1, subtree = 2 }

    /// The entries found (an absent base: none).
    public func search(_ base: String, scope: Scope, filter: String, attributes: [String]) throws(PwdirError) -> [LDIF.Entry] {
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        let rc = try run("searching \(base)") { h in
            withCStrings(attributes) { attrs in cpwdir_ldap_search(h, base, scope.rawValue, filter, attrs, 0, &out, &length) }
        }
        defer { cpwdir_ldap_free(out) }
        if rc == LDAPCode.noSuchObject { return [] }
        guard rc == 0 else { throw failure(rc, "searching \(base)") }
        guard let out else { return [] }
        return Self.decode(UnsafeBufferPointer(start: out, count: length))
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> [LDIF.Entry] {
        var entries: [LDIF.Entry] = []
        var name = ""
        var i = 0
        while i + 5 <= bytes.count {
            let tag = bytes[i]
            let n = Int(bytes[i + 1]) | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) << 16 | Int(bytes[i + 4]) << 24
            guard i + 5 + n <= bytes.count else { break }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[(i + 5)..<(i + 5 + n)]), as: UTF8.self)
            switch tag {
            case UInt8(ascii: "D"): entries.append(LDIF.Entry(dn: text, attributes: []))
            case UInt8(ascii: "N"): name = text
            default: if !entries.isEmpty { entries[entries.count - 1].attributes.append((name, text)) }
            }
            i += 5 + n
        }
        return entries
    }

    /// Modifies an entry; the answer says what the server said (0 or why not).
    public func modify(_ dn: String, _ changes: [LDAPChange], relax: Bool = false, assertion: String? = nil) throws(PwdirError) -> LDAPAnswer {
        var pp: Int32 = -1
        let rc = try run("changing \(dn)") { h in
            withMods(changes) { mods, count in cpwdir_ldap_modify(h, dn, mods, count, relax ? 1 : 0, assertion, &pp) }
        }
        return LDAPAnswer(code: rc, policy: pp < 0 ? nil : PolicyError(rawValue: pp), expire: -1, diagnostic: diagnostic())
    }

    /// Adds an entry: its result code.
    public func add(_ dn: String, _ attributes: [LDAPChange], relax: Bool = false) throws(PwdirError) -> Int32 {
        try run("adding \(dn)") { h in
            withMods(attributes) { mods, count in cpwdir_ldap_add(h, dn, mods, count, relax ? 1 : 0) }
        }
    }

    public func delete(_ dn: String) throws(PwdirError) -> Int32 {
        try run("removing \(dn)") { h in cpwdir_ldap_delete(h, dn) }
    }

    func diagnostic() -> String {
        guard let handle else { return "" }
        var buf = [CChar](repeating: 0, count: 256)
        cpwdir_ldap_diagnostic(handle, &buf, buf.count)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A bind as `dn` with `password` and the password-policy control, on a fresh connection
    /// (a bind changes who a connection is). Never an empty password: a server may take it as an
    /// anonymous bind that succeeds.
    public static func bind(_ server: LDAPServer, dn: String, password: SecretBytes) throws(PwdirError) -> LDAPAnswer {
        precondition(!password.isEmpty, "an empty password is never sent")
        let connection = LDAPConnection(anonymous: server)
        var pp: Int32 = -1, expire: Int32 = -1
        let rc = try connection.run("checking a password", retry: false) { h in
            password.withBytes { b in cpwdir_ldap_bind(h, dn, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count, &pp, &expire) }
        }
        return LDAPAnswer(code: rc, policy: pp < 0 ? nil : PolicyError(rawValue: pp), expire: expire, diagnostic: connection.diagnostic())
    }
}

/// `strings` as a NULL-terminated array of C strings for the length of `body`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

func withMods<R>(_ changes: [LDAPChange], _ body: (UnsafePointer<cpwdir_ldap_mod>, Int32) -> R) -> R {
    var owned: [UnsafeMutablePointer<CChar>?] = []
    var lists: [UnsafeMutablePointer<UnsafePointer<CChar>?>] = []
    defer {
        owned.forEach { free($0) }
        lists.forEach { $0.deallocate() }
    }
    var mods: [cpwdir_ldap_mod] = []
    for c in changes {
        let name = strdup(c.name)
        owned.append(name)
        let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: c.values.count + 1)
        lists.append(list)
        for (k, v) in c.values.enumerated() {
            let copy = strdup(v)
            owned.append(copy)
            list[k] = UnsafePointer(copy)
        }
        list[c.values.count] = nil
        mods.append(cpwdir_ldap_mod(op: c.op.rawValue, name: UnsafePointer(name), values: UnsafePointer(list)))
    }
    return mods.withUnsafeBufferPointer { body($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, Int32(changes.count)) }
}
