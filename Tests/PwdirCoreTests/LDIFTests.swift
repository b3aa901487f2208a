// LDIF of accounts (pwdir export --ldif / import --ldif): written, read back, refused.
import PwdirCore
import XCTest

final class LDIFTests: XCTestCase {
    let base = "dc=example,dc=org"
    let hash = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$Cw632KhDOIuOCmumyXs6Yk0Jrvch.5XH4Udp/h6X9f4"

    func record() -> UserRecord {
        var r = UserRecord(login: "ana")
        r.fullName = "Ana Lopez"
        r.mail = "ana@example.org"
        r.recoveryMail = "ana@home.example"
        r.role = .manager
        r.manager = "boss"
        r[UserRecord.Key.language] = "fr"
        r[UserRecord.Key.created] = "20261125010000Z"
        r.passwordHash = hash
        r[UserRecord.Key.mustChange] = "TRUE"
        r[UserRecord.Key.temporary] = "TRUE"
        r[UserRecord.Key.passwordChanged] = "20261125010000Z"
        r.setValues(UserRecord.Key.history, ["20261124010000Z#1.3.6.1.4.1.1466.115.121.1.40#80#{CRYPT}\(hash)", "20261123010000Z#1.3.6.1.4.1.1466.115.121.1.40#80#{CRYPT}\(hash)"])
        r[UserRecord.Key.failuresReset] = "20261125010000Z"
        r[UserRecord.Key.failuresResetCount] = "3"
        r[UserRecord.Key.uidNumber] = "20001"
        r[UserRecord.Key.gidNumber] = "20001"
        r[UserRecord.Key.homeDirectory] = "/home/ana"
        r[UserRecord.Key.loginShell] = "/bin/bash"
        r["telephoneNumber"] = "+33 1 23 45 67 89"
        return r
    }

    func testAnAccountGoesOverAndComesBack() throws {
        let tally = Tally(failures: [1_795_568_000, 1_795_568_010], lockedTime: 1_795_568_010)
        let text = LDIF.entry(record(), tally: tally, locked: true, base: base)
        XCTAssertTrue(text.hasPrefix("dn: uid=ana,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nobjectClass: pwdirAccount\nobjectClass: posixAccount\nuid: ana\nsn: Lopez\n"), text)
        for line in ["manager: uid=boss,ou=people,dc=example,dc=org", "pwdirCreated: 20261125010000Z", "userPassword: {CRYPT}\(hash)",
                     "pwdReset: TRUE", "pwdAccountLockedTime: 20261125005330Z", "pwdFailureTime: 20261125005320Z", "uidNumber: 20001"] {
            XCTAssertTrue(text.contains("\n" + line + "\n"), "\(line) missing in\n\(text)")
        }
        XCTAssertFalse(text.contains("createTimestamp"), "the server's own")
        let entries = try LDIF.parse(Array(("version: 1\n\n" + text).utf8))
        XCTAssertEqual(entries.count, 1)
        let account = try XCTUnwrap(try LDIF.account(entries[0]))
        XCTAssertEqual(account.login, "ana")
        XCTAssertEqual(account.columns, ["login": "ana", "full_name": "Ana Lopez", "email": "ana@example.org", "recovery_email": "ana@home.example",
                                         "role": "manager", "manager": "boss", "lang": "fr", "uid_number": "20001", "gid_number": "20001",
                                         "home_directory": "/home/ana", "login_shell": "/bin/bash"])
        XCTAssertEqual(account.failures, [1_795_568_000, 1_795_568_010])
        XCTAssertEqual(account.failureLock, 1_795_568_010)
        let kept = Dictionary(account.kept.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(kept[UserRecord.Key.password], "{CRYPT}" + hash)
        XCTAssertEqual(kept[UserRecord.Key.mustChange], "TRUE")
        XCTAssertEqual(kept[UserRecord.Key.created], "20261125010000Z")
        XCTAssertEqual(kept["telephoneNumber"], "+33 1 23 45 67 89", "an attribute pwdir does not know is kept")
        XCTAssertEqual(account.kept.filter { $0.name == UserRecord.Key.history }.count, 2)
    }

    func testAnAdministratorsLockGoesAsItIsAndAnUnlockedTallyGivesNoLock() throws {
        var r = UserRecord(login: "bo")
        r[UserRecord.Key.lockedTime] = UserRecord.adminLockValue
        let text = LDIF.entry(r, tally: Tally(failures: [1_795_568_000], lockedTime: 1_795_568_000), locked: false, base: base)
        XCTAssertTrue(text.contains("\npwdAccountLockedTime: 000001010000Z\n"), text)
        XCTAssertEqual(text.components(separatedBy: "pwdAccountLockedTime").count, 2, "one lock line")
        XCTAssertTrue(text.contains("\ncn: bo\nsn: bo\n"), "inetOrgPerson needs cn and sn: \(text)")
        XCTAssertFalse(text.contains("posixAccount"), "no numbers, no posixAccount")
        let account = try XCTUnwrap(try LDIF.account(try LDIF.parse(Array(text.utf8))[0]))
        XCTAssertNil(account.failureLock)
        XCTAssertTrue(account.kept.contains(UserRecord.Attribute(UserRecord.Key.lockedTime, UserRecord.adminLockValue)))
    }

    func testFailuresInOneSecondAreToldApart() throws {
        let text = LDIF.entry(UserRecord(login: "cy"), tally: Tally(failures: [1_795_568_000, 1_795_568_000, 1_795_568_000, 1_795_568_001]), locked: false, base: base)
        XCTAssertTrue(text.contains("pwdFailureTime: 20261125005320Z\npwdFailureTime: 20261125005320.000001Z\npwdFailureTime: 20261125005320.000002Z\npwdFailureTime: 20261125005321Z\n"), text)
        let account = try XCTUnwrap(try LDIF.account(try LDIF.parse(Array(text.utf8))[0]))
        XCTAssertEqual(account.failures, [1_795_568_000, 1_795_568_000, 1_795_568_000, 1_795_568_001])
    }

    func testValuesThatAreNotSafeStringsGoInBase64() throws {
        var r = UserRecord(login: "cy")
        r.fullName = "Cy Été"
        r["description"] = ": starts with a colon"
        r["title"] = " starts with a space"
        let text = LDIF.entry(r, tally: nil, locked: false, base: base)
        XCTAssertTrue(text.contains("\ncn:: Q3kgw4l0w6k=\n"), text)
        XCTAssertTrue(text.contains("\ndescription:: "), text)
        XCTAssertTrue(text.contains("\ntitle:: "), text)
        let e = try LDIF.parse(Array(text.utf8))[0]
        XCTAssertEqual(e.values("cn"), ["Cy Été"])
        XCTAssertEqual(e.values("description"), [": starts with a colon"])
        XCTAssertEqual(e.values("title"), [" starts with a space"])
    }

    func testFoldedLinesCommentsCRLFAndBase64AreRead() throws {
        let text = "version: 1\r\n# a comment\r\ndn: uid=ana,ou=people,\r\n dc=example,dc=org\r\nuid: ana\r\ncn:: QW5hIEzDs3Bleg==\r\nmail: ana@exa\r\n mple.org\r\n\r\n\r\ndn: ou=people,dc=example,dc=org\r\nou: people\r\n"
        let entries = try LDIF.parse(Array(text.utf8))
        XCTAssertEqual(entries.map(\.dn), ["uid=ana,ou=people,dc=example,dc=org", "ou=people,dc=example,dc=org"])
        XCTAssertEqual(entries[0].values("cn"), ["Ana López"])
        XCTAssertEqual(entries[0].values("MAIL"), ["ana@example.org"])
        XCTAssertEqual(entries[0].line, 3)
        XCTAssertNil(try LDIF.account(entries[1]), "not an account")
    }

    func testBadLDIFIsRefusedWithItsLine() {
        let bad: [(String, String)] = [
            (" continued\n", "line 1"), ("dn: uid=a,dc=x\nno colon here\n", "line 2"), ("dn: uid=a,dc=x\ncn:: ***\n", "base64"),
            ("dn: uid=a,dc=x\nchangetype: add\n", "changetype"), ("dn: uid=a,dc=x\njpegPhoto:< file:///etc/shadow\n", "URL"),
            ("uid: a\n", "must start with 'dn:'"), ("version: 2\n", "version"), ("dn: uid=a,dc=x\ncn:: /w==\n", "UTF-8"),
        ]
        for (text, expected) in bad {
            XCTAssertThrowsError(try LDIF.parse(Array(text.utf8)), text) { error in
                XCTAssertTrue((error as? PwdirError)?.message.contains(expected) ?? false, "\(text.debugDescription): \(error)")
            }
        }
    }

    func testBadAccountsAreProblems() throws {
        let cases: [(String, String)] = [
            ("dn: uid=ana,dc=x\nuid: bo\n", "the DN names uid=ana"),
            ("dn: uid=ana,dc=x\nuserPassword: {SSHA}abc\n", "{CRYPT}"),
            ("dn: uid=ana,dc=x\nmanager: cn=boss,dc=x\n", "not a DN starting uid="),
            ("dn: uid=ana,dc=x\npwdFailureTime: yesterday\n", "not a time"),
            ("dn: uid=ana,dc=x\npwdReset: maybe\n", "TRUE or FALSE"),
            ("dn: uid=ana,dc=x\nmail: a@b.example\nmail: c@d.example\n", "more than one mail"),
            ("dn: uid=ana,dc=x\ntelephoneNumber: 1\nTelephoneNumber: 2\n", "more than one TelephoneNumber"),
            ("dn: uid=ana,dc=x\ndescription;lang-fr: x\n", "cannot be kept"),
            ("dn: uid=ana,dc=x\n2.5.4.13: x\n", "cannot be kept"),
            ("dn: uid=ana,dc=x\nuserPassword: {CRYPT}$6$salt$hash\n", "yescrypt"),
            ("dn: uid=ana,dc=x\nuserPassword: {CRYPT}\(hash)\nuserPassword: {CRYPT}\(hash)\n", "more than one userPassword"),
            ("dn: uid=ana,dc=x\npwdFailureTime: 19700101000000Z\n", "not a time"),
            ("dn: uid=ana,dc=x\npwdirFailuresResetCount: 18446744073709551615\n", "below 2^32"),
            ("dn: uid=ana,dc=x\npwdirNoMailbox: perhaps\n", "TRUE or FALSE"),
            ("dn: uid=ana,dc=x\ndn: uid=bo,dc=x\n", "a second dn"),
            ("dn: uid=,dc=x\nuid:\n", "uid is empty"),
        ]
        for (text, expected) in cases {
            let e = try LDIF.parse(Array(text.utf8))[0]
            do {
                _ = try LDIF.account(e)
                XCTFail("accepted: \(text)")
            } catch {
                XCTAssertTrue(error.text.contains(expected), "\(text.debugDescription): \(error.text)")
            }
        }
    }

    func testWhatServersWriteIsReadAsPwdirMeansIt() throws {
        let text = "dn: uid=bo,ou=people,dc=x\nuid: bo\ncn: bo\nsn: bo\npreferredLanguage: fr-CA\npwdAccountLockedTime: 00000101000000Z\npwdLastSuccess: 20261125010000Z\n\ndn: uid=cy,dc=x\nuid: cy\ncn: cy\nsn: Cy\npreferredLanguage: de\n"
        let accounts = try LDIF.parse(Array(text.utf8)).map { try XCTUnwrap(try LDIF.account($0)) }
        XCTAssertNil(accounts[0].columns["full_name"], "cn and sn made up from the login are no full name")
        XCTAssertEqual(accounts[0].columns["lang"], "fr")
        XCTAssertTrue(accounts[0].kept.contains(UserRecord.Attribute(UserRecord.Key.lockedTime, UserRecord.adminLockValue)), "the year 0 is the administrator's lock")
        XCTAssertFalse(accounts[0].kept.contains { $0.name == "pwdLastSuccess" }, "the server's own")
        XCTAssertEqual(accounts[1].columns["full_name"], "cy", "a cn that is a name stays")
        XCTAssertNil(accounts[1].columns["lang"], "a language pwdir has no mail in is left out")
    }

    func testThePolicySaysWhatTheSettingsSay() throws {
        var s = Settings()
        s.deny = 3
        s.unlockTime = 900
        s.failInterval = 600
        s.remember = 4
        s.minlen = 14
        s.maxage = 180
        s.warnage = 14
        let text = LDIF.policy(s, base: base)
        for line in ["dn: cn=default,ou=policies,dc=example,dc=org", "objectClass: pwdPolicy", "pwdLockout: TRUE", "pwdMaxFailure: 3",
                     "pwdLockoutDuration: 900", "pwdFailureCountInterval: 600", "pwdInHistory: 4", "pwdMinLength: 14",
                     "pwdMaxAge: 15552000", "pwdExpireWarning: 1209600", "pwdMustChange: TRUE"] {
            XCTAssertTrue(text.contains(line + "\n"), "\(line) missing in\n\(text)")
        }
        s.deny = 0
        XCTAssertTrue(LDIF.policy(s, base: base).contains("pwdLockout: FALSE\n"))
        XCTAssertFalse(LDIF.policy(s, base: base).contains("pwdMaxFailure"))
    }

    func testBaseDN() {
        XCTAssertNoThrow(try LDIF.validateBase("dc=example,dc=org"))
        for bad in ["", "example.org", "dc=a\ndc=b"] { XCTAssertThrowsError(try LDIF.validateBase(bad), bad) }
        XCTAssertEqual(try Settings.parse("ldap_base = dc=example,dc=org\n").0.ldapBase, "dc=example,dc=org")
    }
}
