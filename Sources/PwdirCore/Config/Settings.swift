/// The settings of `pwdir.conf`: `key = value` lines, `#` comments, in the style of
/// faillock.conf and pwquality.conf. One parser serves the module and the command.
public struct Settings: Equatable, Sendable {
    /// Failed logins in a row that lock the account (0 = never).
    public var deny = 5
    /// Seconds after which a failure lock lifts by itself (0 = only an admin unlocks).
    public var unlockTime: Int64 = 0
    /// Failures older than this many seconds do not count (0 = no window).
    public var failInterval: Int64 = 900
    /// Cost factor given to crypt_gensalt_rn for new yescrypt hashes.
    public var yescryptCost = 5
    /// Minimum length of a new password.
    public var minlen = 12
    /// Previous passwords that may not be reused.
    public var remember = 5
    /// Seconds a mailed recovery code stays valid.
    public var recoveryTTL: Int64 = 3600
    /// Mail command, split on spaces, run without a shell.
    public var sendmail = ["/usr/sbin/sendmail", "-t", "-i"]
    /// From: of every mail.
    public var mailFrom = "pwdir@" + Settings.hostName()
    /// Entropy of a generated password, in bits.
    public var generateBits = 80
    /// Days a password stays valid (0 = forever).
    public var maxage = 0
    /// Days before expiry from which the user is warned at login.
    public var warnage = 7
    /// Seconds an administrator-set (temporary) password stays usable if nobody logs in with it.
    public var tempTTL: Int64 = 259_200
    /// Folder of template files overriding the built-in mails (NAME.LANG.mustache).
    public var templatesDir: String?
    /// Language of mail for users without their own.
    public var lang = MailLanguage.en
    /// Seconds the mail command may take.
    public var mailTimeout = 30
    /// The audit trail (JSON lines); nil: `audit.log` beside the directory.
    public var auditLog: String?
    /// Self-service recovery at the module's password prompt.
    public var recovery = false
    /// Seconds between two recovery codes for one user.
    public var recoveryInterval: Int64 = 300
    /// Where the accounts are published as systemd userdb records; nil (`off`): not published.
    public var userdbDir: String? = "/run/userdb"
    /// The uid numbers given to new accounts (inside systemd's range of regular users).
    public var uidMin: UInt32 = 20_000
    public var uidMax: UInt32 = 59_999
    /// A new account's home is `home_base/LOGIN` unless one is given.
    public var homeBase = "/home"
    /// A new account's shell unless one is given.
    public var defaultShell = "/bin/bash"
    /// The second factor at the module's prompt: off (never asked), optional (asked of users who
    /// have one), required (a user without one cannot log in).
    public var totp = TotpPolicy.off
    /// The base DN of the organisation in LDAP (`pwdir export --ldif`, `pwdir ldap policy`).
    public var ldapBase: String?
    /// Where the accounts are: the flat file (`file`, the default) or an LDAP server (`ldap`),
    /// reached by the command directly and by the module through `pwdird`.
    public var store = StoreKind.file
    /// The LDAP servers, tried in order (`ldap://` or `ldaps://` URIs).
    public var ldapURIs: [String] = []
    /// The identity pwdird and the command bind as (its password in `ldapSecretFile`).
    public var ldapBindDN: String?
    public var ldapSecretFile = "/etc/security/pwdir.ldap.secret"
    /// StartTLS on `ldap://` URIs; `ldaps://` URIs are TLS anyway.
    public var ldapTLS = false
    /// The CA that signs the servers' certificates (the only one trusted).
    public var ldapCAFile: String?
    /// Seconds for connecting to a server and for each operation.
    public var ldapTimeout = 5
    /// pwdird's socket, which the module asks.
    public var pwdirdSocket = "/run/pwdird/socket"
    /// Steps of 30 s either side of now whose codes are accepted (clock drift, slow typing).
    public var totpWindow = 1
    /// The issuer an authenticator app shows beside the login (default: the host name).
    public var totpIssuer = Settings.hostName()

    /// libpwquality options from pwdir.conf, "key=value" as pwquality.conf writes them
    /// (minlen is added from `minlen`).
    public var qualityOptions: [String] = []

    /// pwquality.conf keys accepted in pwdir.conf, with the same meanings.
    public static let qualityKeys: Set<String> = [
        "minclass", "dcredit", "ucredit", "lcredit", "ocredit", "maxrepeat", "maxclassrepeat",
        "maxsequence", "dictcheck", "usercheck", "gecoscheck", "badwords", "difok", "dictpath",
    ]

    public init() {}

    /// Keys accepted in pwdir.conf.
    public static let knownKeys: Set<String> = Set([
        "deny", "unlock_time", "fail_interval", "yescrypt_cost", "minlen", "remember",
        "recovery_ttl", "sendmail", "mail_from", "generate_bits", "maxage", "warnage", "temp_ttl", "templates_dir", "lang", "mail_timeout", "audit_log", "recovery", "recovery_interval",
        "userdb_dir", "uid_min", "uid_max", "home_base", "default_shell", "totp", "totp_window", "totp_issuer", "ldap_base",
        "store", "ldap_uri", "ldap_bind_dn", "ldap_secret_file", "ldap_tls", "ldap_ca_file", "ldap_timeout", "pwdird_socket",
    ]).union(qualityKeys)

    /// Parses settings text. Malformed lines and bad values are errors naming the line; unknown
    /// keys are returned in `warnings` and ignored (as pam_faillock does), so that a newer
    /// pwdir.conf does not lock everybody out of an older module.
    public static func parse(_ text: String, path: String = "pwdir.conf") throws(PwdirError) -> (Settings, warnings: [String]) {
        var s = Settings()
        var warnings: [String] = []
        var lineNumber = 0
        // Split on LF bytes: "\r\n" is one Character, so a CRLF file would be one line.
        for rawLine in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = String(decoding: rawLine, as: UTF8.self).trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let key: String
            let value: String
            if let eq = line.firstIndex(of: "=") {
                key = String(line[..<eq]).trimmingSpaces()
                value = String(line[line.index(after: eq)...]).trimmingSpaces()
            } else {
                throw PwdirError.settings(path: path, line: lineNumber, reason: "a line must read 'key = value', not '\(PwdirError.printable(line))'")
            }
            func fail(_ reason: String) -> PwdirError { .settings(path: path, line: lineNumber, reason: reason) }
            func int(_ range: ClosedRange<Int64>) throws(PwdirError) -> Int64 {
                guard let n = Int64(value), range.contains(n) else {
                    throw fail("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(PwdirError.printable(value))'")
                }
                return n
            }
            switch key {
            case "deny": s.deny = Int(try int(0...1000))
            case "unlock_time": s.unlockTime = try int(0...(10 * 365 * 86400))
            case "fail_interval": s.failInterval = try int(0...(10 * 365 * 86400))
            case "yescrypt_cost": s.yescryptCost = Int(try int(1...11))
            case "minlen": s.minlen = Int(try int(6...512))
            case "remember": s.remember = Int(try int(0...400))
            case "recovery_ttl": s.recoveryTTL = try int(60...(7 * 86400))
            case "generate_bits": s.generateBits = Int(try int(64...256))
            case "maxage": s.maxage = Int(try int(0...36500))
            case "warnage": s.warnage = Int(try int(0...36500))
            case "temp_ttl": s.tempTTL = try int(0...(365 * 86400))
            case "mail_timeout": s.mailTimeout = Int(try int(1...600))
            case "recovery_interval": s.recoveryInterval = try int(0...86400)
            case "totp":
                guard let policy = TotpPolicy(rawValue: value) else { throw fail("totp must be off, optional or required, not '\(PwdirError.printable(value))'") }
                s.totp = policy
            case "ldap_base":
                do { try LDIF.validateBase(value) } catch { throw fail(error.message) }
                s.ldapBase = value
            case "store":
                guard let kind = StoreKind(rawValue: value) else { throw fail("store must be file or ldap, not '\(PwdirError.printable(value))'") }
                s.store = kind
            case "ldap_uri":
                let uris = value.split(separator: " ").map(String.init)
                guard !uris.isEmpty, uris.allSatisfy({ ($0.hasPrefix("ldap://") || $0.hasPrefix("ldaps://")) && $0.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F } }) else {
                    throw fail("ldap_uri must be ldap:// or ldaps:// URIs separated by spaces, not '\(PwdirError.printable(value))'")
                }
                s.ldapURIs = uris
            case "ldap_bind_dn":
                do { try LDIF.validateBase(value) } catch { throw fail("ldap_bind_dn '\(PwdirError.printable(value))' is not a DN such as cn=pwdird,dc=example,dc=org") }
                s.ldapBindDN = value
            case "ldap_secret_file", "ldap_ca_file", "pwdird_socket":
                guard value.hasPrefix("/") else { throw fail("\(key) must be an absolute path") }
                if key == "ldap_secret_file" { s.ldapSecretFile = value } else if key == "ldap_ca_file" { s.ldapCAFile = value } else { s.pwdirdSocket = value }
            case "ldap_tls":
                switch value.lowercased() {
                case "starttls": s.ldapTLS = true
                case "off", "no": s.ldapTLS = false
                default: throw fail("ldap_tls must be starttls or off (ldaps:// URIs are TLS anyway), not '\(PwdirError.printable(value))'")
                }
            case "ldap_timeout": s.ldapTimeout = Int(try int(1...120))
            case "totp_window": s.totpWindow = Int(try int(0...Int64(Totp.maxWindow)))
            case "totp_issuer":
                guard !value.isEmpty, value.utf8.count <= 64, !value.contains(":"), value.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else {
                    throw fail("totp_issuer must be 1 to 64 printable characters without ':', not '\(PwdirError.printable(value))'")
                }
                s.totpIssuer = value
            case "recovery":
                switch value.lowercased() {
                case "yes", "true", "1": s.recovery = true
                case "no", "false", "0": s.recovery = false
                default: throw fail("recovery must be yes or no, not '\(PwdirError.printable(value))'")
                }
            case "audit_log":
                guard value.hasPrefix("/") else { throw fail("audit_log must be an absolute path") }
                s.auditLog = value
            case "userdb_dir":
                guard value == "off" || value.hasPrefix("/") else { throw fail("userdb_dir must be an absolute path or off") }
                s.userdbDir = value == "off" ? nil : value
            case "uid_min": s.uidMin = UInt32(try int(1000...2_147_483_647))
            case "uid_max": s.uidMax = UInt32(try int(1000...2_147_483_647))
            case "home_base", "default_shell":
                do { try PosixAccount.validatePath(value, field: key) } catch { throw fail(error.message) }
                if key == "home_base" { s.homeBase = value } else { s.defaultShell = value }
            case "templates_dir":
                guard value.hasPrefix("/") else { throw fail("templates_dir must be an absolute path") }
                s.templatesDir = value
            case "lang":
                guard let l = MailLanguage(rawValue: value) else {
                    throw fail("lang must be one of \(MailLanguage.allCases.map(\.rawValue).joined(separator: ", ")), not '\(PwdirError.printable(value))'")
                }
                s.lang = l
            case _ where qualityKeys.contains(key):
                let option = "\(key)=\(value)"
                if let reason = PasswordQuality.invalidOption(option) { throw fail("\(key): \(reason)") }
                s.qualityOptions.removeAll { $0.utf8.starts(with: (key + "=").utf8) }  // bytes: a value may start with a combining mark
                s.qualityOptions.append(option)
            case "sendmail":
                let argv = value.split(separator: " ").map(String.init)
                guard let first = argv.first, first.hasPrefix("/") else {
                    throw fail("sendmail must be an absolute command path followed by its arguments")
                }
                s.sendmail = argv
            case "mail_from":
                do { try MailAddress.validate(value, field: "mail_from") } catch { throw fail(error.message) }
                s.mailFrom = value
            default:
                if key.isEmpty { throw fail("a line must read 'key = value'") }
                warnings.append("settings \(path) line \(lineNumber): unknown setting '\(PwdirError.printable(key))' ignored")
            }
        }
        if s.uidMin > s.uidMax { throw PwdirError.invalidValue(field: "settings \(path)", reason: "uid_min (\(s.uidMin)) is above uid_max (\(s.uidMax))") }
        // systemd's own ranges: homed, nspawn, DynamicUser, nobody (60001-65535)
        if s.uidMin <= 65_535 && s.uidMax >= 60_001 {
            throw PwdirError.invalidValue(field: "settings \(path)", reason: "uid_min..uid_max (\(s.uidMin)-\(s.uidMax)) overlaps systemd's reserved 60001-65535; keep below 60001 or above 65535")
        }
        if s.store == .ldap {
            let problem: String? = s.ldapURIs.isEmpty ? "ldap_uri" : s.ldapBase == nil ? "ldap_base" : s.ldapBindDN == nil ? "ldap_bind_dn" : nil
            if let problem { throw PwdirError.settings(path: path, line: 0, reason: "store = ldap needs \(problem); set it (see pwdir.conf(5))") }
            // Passwords cross the network: in clear only to this machine itself.
            if !s.ldapTLS, let clear = s.ldapURIs.first(where: { $0.hasPrefix("ldap://") && !Self.isLoopback(uri: $0) }) {
                throw PwdirError.settings(path: path, line: 0, reason: "\(clear) would carry passwords in clear; use ldaps:// or set ldap_tls = starttls (with ldap_ca_file)")
            }
            let tls = s.ldapTLS || s.ldapURIs.contains { $0.hasPrefix("ldaps://") }
            if tls && s.ldapCAFile == nil {
                throw PwdirError.settings(path: path, line: 0, reason: "TLS to the LDAP servers needs ldap_ca_file, the CA that signs their certificates")
            }
        }
        return (s, warnings)
    }

    /// Reads and parses the settings file. A missing file means the defaults (as for
    /// faillock.conf); an unreadable or malformed one is an error.
    public static func load(path: String) throws(PwdirError) -> (Settings, warnings: [String]) {
        // It names a command root runs and files root writes: root's (or ours), and writable
        // by nobody else (FileSafety); a FIFO put in its place is refused, not waited on.
        guard let bytes = try FileSafety.read(path) else { return (Settings(), []) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .settings(path: path, line: 0, reason: "not valid UTF-8")
        }
        return try parse(text, path: path)
    }

    /// An ldap:// URI whose host is this machine (127.0.0.0/8, ::1, localhost, or none).
    static func isLoopback(uri: String) -> Bool {
        var host = Substring(uri.dropFirst("ldap://".count))
        host = host.prefix { $0 != "/" }
        if host.hasPrefix("[") { return host.hasPrefix("[::1]") }
        host = host.prefix { $0 != ":" }
        return host.isEmpty || host == "localhost" || host.hasPrefix("127.")
    }

    /// gethostname(2): no DNS lookup.
    public static func hostName() -> String { Sys.hostName() }
}

/// `store` in pwdir.conf.
public enum StoreKind: String, Sendable, Equatable {
    case file, ldap
}

/// `totp` in pwdir.conf.
public enum TotpPolicy: String, Sendable, Equatable {
    case off, optional, required
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, scalars[start] == " " || scalars[start] == "\t" || scalars[start] == "\r" { start = scalars.index(after: start) }
        while end > start {
            let prev = scalars.index(before: end)
            if scalars[prev] == " " || scalars[prev] == "\t" || scalars[prev] == "\r" { end = prev } else { break }
        }
        return String(String.UnicodeScalarView(scalars[start..<end]))
    }
}
