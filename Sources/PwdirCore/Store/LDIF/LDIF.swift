/// LDIF (RFC 2849) of pwdir's accounts, for moving a directory to OpenLDAP and back: an account
/// is `uid=LOGIN,ou=people,BASE`, an inetOrgPerson with pwdir's auxiliary class `pwdirAccount`
/// (`ldap/pwdir.schema`) and, when it has numbers, a posixAccount. The directory's attributes
/// are already LDAP's (inetOrgPerson, the password policy's), so most go over as they are; what
/// differs: `manager` is a DN there, `createTimestamp` (the server's own) is `pwdirCreated`,
/// inetOrgPerson's required `sn` (and `cn` when there is no full name) are made up, and the
/// failure tally becomes the policy's `pwdFailureTime` and `pwdAccountLockedTime`.
public enum LDIF {
    public static func peopleDN(base: String) -> String { "ou=people," + base }
    public static func dn(of login: String, base: String) -> String { "uid=" + login + "," + peopleDN(base: base) }
    public static func policyDN(base: String) -> String { "cn=default,ou=policies," + base }

    /// A base DN pwdir can write: `name=value` parts, one line, printable.
    public static func validateBase(_ base: String) throws(PwdirError) {
        guard !base.isEmpty, base.contains("="), base.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else {
            throw .invalidValue(field: "base DN", reason: "'\(PwdirError.printable(base))' is not a DN such as dc=example,dc=org")
        }
    }

    // MARK: Writing

    static let posixKeys = [UserRecord.Key.uidNumber, UserRecord.Key.gidNumber, UserRecord.Key.homeDirectory, UserRecord.Key.loginShell]
    public static let created = "pwdirCreated"

    /// The entry of `record`; `tally` (its failures, already normalized) gives the failure lock
    /// and failure times. Attributes pwdir does not know are written as they are (the server's
    /// schema decides).
    public static func entry(_ record: UserRecord, tally: Tally?, locked: Bool, base: String) -> String {
        var out = line("dn", dn(of: record.login, base: base))
        let hasPosix = record[UserRecord.Key.uidNumber] != nil && record[UserRecord.Key.gidNumber] != nil && record[UserRecord.Key.homeDirectory] != nil
        out += line("objectClass", "inetOrgPerson") + line("objectClass", "pwdirAccount")
        if hasPosix { out += line("objectClass", "posixAccount") }
        out += line("uid", record.login)
        let cn = record.fullName ?? record.login
        if record.fullName == nil { out += line("cn", cn) }
        out += line("sn", cn.split(separator: " ").last.map(String.init) ?? record.login)
        for a in record.attributes {
            switch a.name {
            case UserRecord.Key.manager: out += line("manager", dn(of: a.value, base: base))
            case UserRecord.Key.created: out += line(created, a.value)
            case UserRecord.Key.lockedTime where a.value != UserRecord.adminLockValue: continue  // the tally says
            case _ where posixKeys.contains(a.name) && !hasPosix: continue
            default: out += line(a.name, a.value)
            }
        }
        if let tally {
            if record[UserRecord.Key.lockedTime] != UserRecord.adminLockValue, locked, let time = tally.lockedTime {
                out += line(UserRecord.Key.lockedTime, GeneralizedTime.format(time))
            }
            for stamp in failureTimes(tally.failures) { out += line("pwdFailureTime", stamp) }
        }
        return out + "\n"
    }

    /// Failure times (oldest first) as `pwdFailureTime` values: failures in one second are told
    /// apart by a fraction, as slapd writes them (it refuses a value twice).
    public static func failureTimes(_ failures: [Int64]) -> [String] {
        var previous: Int64?
        var same = 0
        return failures.map { time in
            same = time == previous ? same + 1 : 0
            previous = time
            let stamp = GeneralizedTime.format(time)
            return same == 0 ? stamp : String(stamp.dropLast()) + "." + String(1_000_000 + same).dropFirst() + "Z"
        }
    }

    /// The password policy entry (draft-behera, slapd's ppolicy overlay) that says what pwdir.conf says.
    public static func policy(_ s: Settings, base: String) -> String {
        var out = line("dn", policyDN(base: base)) + line("objectClass", "applicationProcess") + line("objectClass", "pwdPolicy")
        out += line("cn", "default") + line("pwdAttribute", "userPassword")
        out += line("pwdLockout", s.deny > 0 ? "TRUE" : "FALSE")
        if s.deny > 0 { out += line("pwdMaxFailure", String(s.deny)) }
        out += line("pwdLockoutDuration", String(s.unlockTime))  // 0: until an administrator unlocks
        out += line("pwdFailureCountInterval", String(s.failInterval))
        out += line("pwdMustChange", "TRUE") + line("pwdAllowUserChange", "TRUE")
        out += line("pwdInHistory", String(s.remember)) + line("pwdMinLength", String(s.minlen))
        out += line("pwdCheckQuality", "1")  // the length checked when the server can read the password
        out += line("pwdMaxAge", String(s.maxage * 86400))
        out += line("pwdExpireWarning", String(s.maxage > 0 ? s.warnage * 86400 : 0))
        return out + "\n"
    }

    /// One `name: value` line, base64 (`name:: …`) when the value is not a safe string.
    static func line(_ name: String, _ value: String) -> String {
        let bytes = Array(value.utf8)
        let safe = bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F } && bytes.first.map({ $0 != 0x20 && $0 != 0x3A && $0 != 0x3C }) ?? true
            && bytes.last != 0x20
        return safe ? "\(name): \(value)\n" : "\(name):: \(Base64.encode(bytes))\n"
    }

    // MARK: Reading

    /// One entry as read: its DN, its attributes in order (names as written) and its first line.
    public struct Entry: Equatable, Sendable {
        public var dn: String
        public var attributes: [(name: String, value: String)]
        public var line: Int

        public init(dn: String, attributes: [(name: String, value: String)], line: Int = 0) {
            self.dn = dn
            self.attributes = attributes
            self.line = line
        }

        public static func == (a: Entry, b: Entry) -> Bool {
            a.dn == b.dn && a.line == b.line && a.attributes.map(\.name) == b.attributes.map(\.name) && a.attributes.map(\.value) == b.attributes.map(\.value)
        }

        public func values(_ name: String) -> [String] {
            attributes.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }
    }

    /// The entries of an LDIF file (content records; `changetype` is refused, `name:< URL` too).
    /// Comments, folded lines and base64 values are read; values must be UTF-8.
    public static func parse(_ bytes: [UInt8]) throws(PwdirError) -> [Entry] {
        func bad(_ line: Int, _ why: String) -> PwdirError { .invalidValue(field: "LDIF", reason: "line \(line): \(why)") }
        // Unfolded lines, each with the number of its first physical line.
        var lines: [(Int, [UInt8])] = []
        var number = 0
        for raw in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            var l = Array(raw)
            if l.last == 0x0D { l.removeLast() }
            if l.first == 0x20 {
                guard let last = lines.indices.last, !lines[last].1.isEmpty else { throw bad(number, "a continued line follows no line") }
                lines[last].1 += l.dropFirst()
            } else {
                lines.append((number, l))
            }
        }
        var entries: [Entry] = []
        var current: Entry?
        var sawVersion = false
        for (n, l) in lines {
            if l.isEmpty {
                if let e = current { entries.append(e) }
                current = nil
                continue
            }
            if l.first == 0x23 { continue }  // # comment
            guard let colon = l.firstIndex(of: 0x3A) else { throw bad(n, "no ':' after the attribute's name") }
            let name = String(decoding: l[..<colon], as: UTF8.self)
            guard !name.isEmpty, name.utf8.allSatisfy({ isNameByte($0) }) else { throw bad(n, "'\(PwdirError.printable(name))' is not an attribute name") }
            var rest = l[(colon + 1)...]
            let value: [UInt8]
            if rest.first == 0x3A {
                rest = rest.dropFirst().drop { $0 == 0x20 }
                guard let decoded = Base64.decode(Array(rest)) else { throw bad(n, "the base64 value of \(name) cannot be decoded") }
                value = decoded
            } else if rest.first == 0x3C {
                throw bad(n, "values read from a URL (\(name):<) are not supported")
            } else {
                value = Array(rest.drop { $0 == 0x20 })
            }
            guard let text = String(validating: value, as: UTF8.self) else { throw bad(n, "the value of \(name) is not UTF-8 text") }
            if current == nil {
                if name.lowercased() == "version" && !sawVersion && entries.isEmpty {
                    guard text == "1" else { throw bad(n, "LDIF version \(PwdirError.printable(text)); only 1 is read") }
                    sawVersion = true
                    continue
                }
                guard name.lowercased() == "dn" else { throw bad(n, "an entry must start with 'dn:', not '\(PwdirError.printable(name)):'") }
                current = Entry(dn: text, attributes: [], line: n)
                continue
            }
            if name.lowercased() == "changetype" { throw bad(n, "change records (changetype) are not read: give the entries themselves") }
            current!.attributes.append((name, text))
        }
        if let e = current { entries.append(e) }
        return entries
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x3B || b == 0x2E
    }

    /// What is wrong with an entry (its line is the entry's).
    public struct Problem: Error {
        public var text: String
    }

    /// An account read back from an entry: what goes into a CSV row's columns, and the rest.
    public struct Account: Sendable {
        public var login: String
        public var line: Int
        /// Values by CSV column name (login, full_name, email, …): checked as an import's rows.
        public var columns: [String: String]
        /// Attributes the directory keeps as they are (password, history, locks, times).
        public var kept: [UserRecord.Attribute]
        /// Failure times and the time of a lock from failures, for the tally.
        public var failures: [Int64]
        public var failureLock: Int64?
    }

    /// Attributes of a server entry that are the server's, not the account's.
    static let serverAttributes: Set<String> = [
        "objectclass", "sn", "structuralobjectclass", "entryuuid", "entrycsn", "entrydn", "creatorsname", "createtimestamp",
        "modifiersname", "modifytimestamp", "subschemasubentry", "hassubordinates", "pwdpolicysubentry", "contextcsn",
        "pwdlastsuccess", "pwdgraceusetime", "pwdstarttime", "pwdendtime", "memberof", "numsubordinates", "entryttl",
        // A recovery code in flight stays where it was sent; a second factor is not moved (the
        // export leaves it out: enrol again).
        "pwdirrecoverycode", "pwdirtotp", "pwdirtotpstate", "pwdirsecondfactorfailure",
    ]

    /// A name the directory can keep: a letter, then letters, digits and '-', at most 64 (no
    /// options such as `;lang-fr`, no OIDs).
    static func isDirectoryName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 64, (first | 0x20) >= 97 && (first | 0x20) <= 122 else { return false }
        return name.utf8.allSatisfy { (($0 | 0x20) >= 97 && ($0 | 0x20) <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 0x2D }
    }

    /// The account an entry holds (nil: an entry that is not one, such as `ou=people` or the
    /// policy): its DN starts with `uid=`, or it has a `uid`. Problems name the entry's line.
    public static func account(_ e: Entry) throws(Problem) -> Account? {
        func bad(_ why: String) -> Problem { Problem(text: "\(PwdirError.printable(e.dn)): \(why)") }
        let uids = e.values("uid")
        let rdnLogin = loginOfDN(e.dn)
        guard rdnLogin != nil || !uids.isEmpty else { return nil }
        guard uids.count <= 1 else { throw bad("more than one uid") }
        guard let login = uids.first ?? rdnLogin else { return nil }
        guard !login.isEmpty else { throw bad("its uid is empty") }
        if let rdnLogin, rdnLogin != login { throw bad("the DN names uid=\(rdnLogin) but the entry's uid is \(login)") }
        // A made-up cn (the login, when there was no full name) is not a full name.
        let cns = e.values("cn")
        let madeUpName = cns == [login] && e.values("sn") == [login]
        var columns: [String: String] = ["login": login]
        var kept: [UserRecord.Attribute] = []
        var seen: Set<String> = []
        var failures: [Int64] = []
        var failureLock: Int64?
        let single: [String: String] = [
            "cn": "full_name", "mail": "email", "pwdirrecoverymail": "recovery_email", "pwdirrole": "role",
            "preferredlanguage": "lang", "uidnumber": "uid_number", "gidnumber": "gid_number",
            "homedirectory": "home_directory", "loginshell": "login_shell",
        ]
        for (name, value) in e.attributes {
            let lower = name.lowercased()
            if lower == "uid" || serverAttributes.contains(lower) { continue }
            if lower == "dn" { throw bad("a second dn inside the entry (a blank line missing?)") }
            // One value each (the history excepted), as the directory keeps them.
            if lower != "pwdhistory" && lower != "pwdfailuretime" {
                guard seen.insert(lower).inserted else { throw bad("more than one \(name) (pwdir keeps one value)") }
            }
            if lower == "cn" && madeUpName { continue }
            if lower == "preferredlanguage" {
                // A language pwdir writes mail in (en-US is en); another one is left out.
                let tag = String(value.lowercased().prefix { $0 != "-" && $0 != "_" })
                if MailLanguage(rawValue: tag) != nil { columns["lang"] = tag }
                continue
            }
            if let column = single[lower] {
                columns[column] = value
                continue
            }
            switch lower {
            case "manager":
                guard let m = loginOfDN(value) else { throw bad("manager '\(PwdirError.printable(value))' is not a DN starting uid=") }
                guard columns["manager"] == nil else { throw bad("more than one manager") }
                columns["manager"] = m
            case "pwdirnomailbox":
                guard ["TRUE", "FALSE"].contains(value.uppercased()) else { throw bad("\(name) must be TRUE or FALSE") }
                columns["no_mailbox"] = value.uppercased() == "TRUE" ? "yes" : "no"
            case "userpassword":
                guard value.hasPrefix("{CRYPT}"), Yescrypt.isWellFormed(String(value.dropFirst(7))) else {
                    throw bad("userPassword is not a {CRYPT} yescrypt hash, the one kind pwdir checks; leave it out and set a new password after the move")
                }
                kept.append(UserRecord.Attribute(UserRecord.Key.password, value))
            case "pwdfailuretime":
                guard let t = time(value) else { throw bad("pwdFailureTime '\(PwdirError.printable(value))' is not a time") }
                failures.append(t)
            case "pwdaccountlockedtime":
                // The administrator's lock is the year 0 (000001010000Z; with seconds too).
                if value.hasPrefix("0000") { kept.append(UserRecord.Attribute(UserRecord.Key.lockedTime, UserRecord.adminLockValue)) }
                else if let t = time(value) { failureLock = t }
                else { throw bad("pwdAccountLockedTime '\(PwdirError.printable(value))' is not a time") }
            case created.lowercased():
                guard time(value) != nil else { throw bad("\(name) is not a time") }
                kept.append(UserRecord.Attribute(UserRecord.Key.created, value))
            case "pwdreset", "pwdirtemporary":
                guard ["TRUE", "FALSE"].contains(value.uppercased()) else { throw bad("\(name) must be TRUE or FALSE") }
                if value.uppercased() == "TRUE" { kept.append(UserRecord.Attribute(lower == "pwdreset" ? UserRecord.Key.mustChange : UserRecord.Key.temporary, "TRUE")) }
            case "pwdchangedtime", "pwdirlockedsince", "pwdirpolicyoverride", "pwdirfailuresreset":
                guard let t = time(value) else { throw bad("\(name) is not a time") }
                let key = [UserRecord.Key.passwordChanged, UserRecord.Key.lockedSince, UserRecord.Key.policyOverride, UserRecord.Key.failuresReset]
                    .first { $0.lowercased() == lower }!
                kept.append(UserRecord.Attribute(key, GeneralizedTime.format(t)))
            case "pwdirfailuresresetcount":
                guard let n = UInt64(value), n < 1 << 32 else { throw bad("\(name) is not a number below 2^32") }
                kept.append(UserRecord.Attribute(UserRecord.Key.failuresResetCount, value))
            case "pwdhistory":
                kept.append(UserRecord.Attribute(UserRecord.Key.history, value))
            case "pwdirlockedby":
                kept.append(UserRecord.Attribute(UserRecord.Key.lockedBy, value))
            default:
                // Another attribute of the entry (telephoneNumber…): kept, as the directory keeps
                // attributes it does not know (one value, a name it can hold).
                guard isDirectoryName(name) else { throw bad("the attribute name '\(PwdirError.printable(name))' cannot be kept (a letter, then letters, digits and '-')") }
                kept.append(UserRecord.Attribute(name, value))
            }
        }
        return Account(login: login, line: e.line, columns: columns, kept: kept, failures: failures, failureLock: failureLock)
    }

    /// The login of a DN `uid=LOGIN,…` (nil: another first part).
    static func loginOfDN(_ dn: String) -> String? {
        let first = dn.split(separator: ",", maxSplits: 1).first.map(String.init) ?? ""
        guard first.lowercased().hasPrefix("uid=") else { return nil }
        let login = String(first.dropFirst(4)).trimmingSpaces()
        return login.isEmpty ? nil : login
    }

    /// A GeneralizedTime as slapd writes it (`YYYYMMDDHHMMSSZ`, perhaps with a fraction),
    /// after 1970 and before 10000 (what a tally holds).
    public static func time(_ value: String) -> Int64? {
        let t: Int64?
        if let dot = value.firstIndex(of: "."), value.hasSuffix("Z") {
            t = GeneralizedTime.parse(String(value[..<dot]) + "Z")
        } else {
            t = GeneralizedTime.parse(value)
        }
        guard let t, t > 0, t <= 253_402_300_799 else { return nil }
        return t
    }
}

/// RFC 4648 base64, for LDIF values.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            let chunk = UInt32(bytes[i]) << 16 | (n > 1 ? UInt32(bytes[i + 1]) << 8 : 0) | (n > 2 ? UInt32(bytes[i + 2]) : 0)
            for k in 0..<4 { out.append(k <= n ? alphabet[Int((chunk >> UInt32(18 - 6 * k)) & 0x3F)] : UInt8(ascii: "=")) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        var padding = 0
        for c in text {
            if c == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0, let v = alphabet.firstIndex(of: c) else { return nil }
            buffer = (buffer << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        guard (text.count - padding) % 4 != 1, padding <= 2 else { return nil }
        return out
    }
}
