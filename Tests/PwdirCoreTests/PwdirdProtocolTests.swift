#if canImport(Glibc)
import Glibc
#endif
import PwdirCore
import PwdirTestSupport
import XCTest

/// pwdird's protocol (`PwdirdMessage`, `PwdirdCodec`) and its answers (`PwdirdService`): round
/// trips, garbage refused whole, who may ask what.
final class PwdirdProtocolTests: XCTestCase {
    func testMessagesRoundTripWithAnyBytes() {
        var m = PwdirdMessage()
        m.add("pwdird", "1")
        m.add("verb", "authenticate")
        m.add("secret", [0x0A, 0x20, 0xFF, 0x00, 0x0A] + Array("end\n".utf8))
        m.add("empty", [])
        XCTAssertEqual(PwdirdMessage.decode(m.encoded()), m)
        XCTAssertEqual(PwdirdMessage.decode(m.encoded())?["secret"], [0x0A, 0x20, 0xFF, 0x00, 0x0A] + Array("end\n".utf8))
        XCTAssertEqual(PwdirdMessage.decode([]), PwdirdMessage())
    }

    func testGarbageIsRefusedWhole() {
        for text in ["verb", "verb 3\nabc", "verb 3\nabcd", "Verb 1\na\n", "verb -1\n\n", "verb 99999999\n", "verb 1 \na\n", " 1\na\n", "verb 1\na\nx", "p 00\n\n"] {
            XCTAssertNil(PwdirdMessage.decode(Array(text.utf8)), text.debugDescription)
        }
        XCTAssertNil(PwdirdMessage.decode([UInt8](repeating: 0x61, count: PwdirdMessage.maxBytes + 1)))
    }

    func testOutcomesRoundTrip() {
        let r = UserRecord(login: "ana", attributes: [UserRecord.Attribute("cn", "Ana Lopez Été")])
        let outcomes: [AuthenticationOutcome] = [
            .success(r), .wrongPassword(lock: nil), .wrongPassword(lock: NewLock(failures: 3, until: 1_700_000_300)),
            .noPassword(lock: NewLock(failures: 3, until: nil)), .unknownUser, .locked(.administrator, until: nil),
            .locked(.failures, until: 1_700_000_000), .temporaryPasswordExpired, .tooManyInFlight, .attemptExpired,
            .damagedTally("bad checksum"),
        ]
        for o in outcomes {
            let back = PwdirdCodec.outcome(PwdirdCodec.outcome(o), record: PwdirdCodec.record(PwdirdCodec.record(r)))
            XCTAssertEqual(back, o)
        }
        XCTAssertNil(PwdirdCodec.outcome("success", record: nil), "a success without its record is not one")
        XCTAssertNil(PwdirdCodec.outcome("locked nobody 5", record: nil))
    }

    func testSecondFactorOutcomesRoundTrip() {
        let r = UserRecord(login: "ana")
        let outcomes: [SecondFactorOutcome] = [
            .success(r, recoveryCodesLeft: nil), .success(r, recoveryCodesLeft: 7), .wrongCode(lock: nil, replay: false),
            .wrongCode(lock: nil, replay: true), .wrongCode(lock: NewLock(failures: 3, until: 1_700_000_300), replay: false),
            .wrongCode(lock: NewLock(failures: 3, until: nil), replay: true), .notEnrolled,
            .refused(.unknownUser), .refused(.locked(.failures, until: 1_700_000_000)), .refused(.wrongPassword(lock: nil)),
        ]
        for o in outcomes {
            XCTAssertEqual(PwdirdCodec.secondFactor(PwdirdCodec.secondFactor(o), record: r), o)
        }
        XCTAssertNil(PwdirdCodec.secondFactor("success", record: nil))
        XCTAssertNil(PwdirdCodec.secondFactor("wrong-code 2", record: nil))
    }

    func testTalliesPoliciesReportsAndClaimsRoundTrip() {
        let t = Tally(attempts: [Tally.Attempt(time: 10), Tally.Attempt(time: 20)], lockedTime: 20, generation: 4)
        XCTAssertEqual(PwdirdCodec.tally(PwdirdCodec.tally(t)), t)
        XCTAssertEqual(PwdirdCodec.tally(PwdirdCodec.tally(Tally())), Tally())
        XCTAssertNil(PwdirdCodec.tally("1,x;-;0"))
        var s = Settings()
        s.deny = 3; s.unlockTime = 300; s.failInterval = 900; s.maxage = 30; s.warnage = 7; s.remember = 4
        let back = PwdirdCodec.policy(PwdirdCodec.policy(s), into: Settings())
        XCTAssertEqual(back.map { [$0.deny, Int($0.unlockTime), Int($0.failInterval), $0.maxage, $0.warnage, $0.remember] }, [3, 300, 900, 30, 7, 4])
        var report = PasswordReport()
        report.forcedChangeDone = true
        XCTAssertEqual(PwdirdCodec.report(PwdirdCodec.report(report)), report)
        let hash = "$y$j9T$" + String(repeating: "a", count: 22) + "$" + String(repeating: "b", count: 43)
        XCTAssertEqual(PwdirdCodec.claim("42 " + hash), RecoveryClaim(nonce: 42, codeHash: hash))
        XCTAssertNil(PwdirdCodec.claim("42 nothash"))
    }

    func testErrorKindsSurviveTheTrip() {
        for e: PwdirError in [.notAllowed("no"), .userNotFound("ana"), .lockedMeanwhile("ana"), .weakPassword("too short"), .server("down")] {
            XCTAssertEqual(PwdirdCodec.error(kind: PwdirdCodec.kind(e), message: "no", login: "ana").exitStatus, e.exitStatus)
        }
    }

    // MARK: The service

    func request(_ verb: String, _ login: String, secret: [UInt8]? = nil) -> [UInt8] {
        var m = PwdirdMessage()
        m.add("pwdird", "1")
        m.add("verb", verb)
        m.add("login", login)
        if let secret { m.add("secret", secret) }
        return m.encoded()
    }

    func answer(_ bytes: [UInt8], peer: uid_t, store: AccountStore) -> PwdirdMessage {
        let answer = PwdirdService.answer(bytes, peer: peer, store: store, settings: Settings(), now: 1_700_000_000) { _, _ in }
        return PwdirdMessage.decode(answer) ?? PwdirdMessage([("result", Array("garbled".utf8))])
    }

    func testRootMayAskAboutAnyoneAndOthersOnlyAboutThemselves() throws {
        let store = FileAccountStore(path: try makeTempFolder() + "/users")
        try store.create(format: 2)
        try store.add(UserRecord(login: "ana"), now: 1_700_000_000)
        let asRoot = answer(request("record", "ana"), peer: 0, store: store)
        XCTAssertEqual(asRoot.text("result"), "ok")
        XCTAssertEqual(asRoot["record"].flatMap(PwdirdCodec.record)?.login, "ana")
        // uid 65534 is nobody, not ana.
        let asNobody = answer(request("record", "ana"), peer: 65534, store: store)
        XCTAssertEqual(asNobody.text("result"), "error")
        XCTAssertEqual(asNobody.text("kind"), "not-allowed")
        for verb in ["set-password", "recovery-claim", "recovery-finish", "recovery-release"] {
            XCTAssertEqual(answer(request(verb, "nobody", secret: Array("x".utf8)), peer: 65534, store: store).text("kind"), "not-allowed", verb)
        }
        XCTAssertEqual(answer(request("policy", "-"), peer: 65534, store: store).text("result"), "ok")
        XCTAssertNil(answer(request("record", "bob"), peer: 0, store: store)["record"])
    }

    func testBadRequestsAreRefused() throws {
        let store = FileAccountStore(path: try makeTempFolder() + "/users")
        XCTAssertEqual(answer(Array("hello\n".utf8), peer: 0, store: store).text("kind"), "not-allowed")
        XCTAssertEqual(answer(request("launch", "ana"), peer: 0, store: store).text("kind"), "not-allowed")
        XCTAssertEqual(answer(request("record", "../etc"), peer: 0, store: store).text("kind"), "user-not-found")
        let long = [UInt8](repeating: 0x61, count: PwdirdService.maxSecretBytes + 1)
        XCTAssertEqual(answer(request("authenticate", "ana", secret: long), peer: 0, store: store).text("kind"), "not-allowed")
        XCTAssertEqual(answer(request("authenticate", "ana", secret: [0x61, 0]), peer: 0, store: store).text("kind"), "not-allowed")
    }

    func testSettingsForTheLDAPStore() throws {
        let (s, warnings) = try Settings.parse("""
            store = ldap
            ldap_uri = ldap://a.example.org/ ldaps://b.example.org:636/
            ldap_base = dc=example,dc=org
            ldap_bind_dn = cn=pwdird,dc=example,dc=org
            ldap_secret_file = /etc/security/pwdir.ldap.secret
            ldap_tls = starttls
            ldap_ca_file = /etc/ssl/certs/example-ca.pem
            ldap_timeout = 3
            pwdird_socket = /run/pwdird/socket
            """)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(s.store, .ldap)
        XCTAssertEqual(s.ldapURIs, ["ldap://a.example.org/", "ldaps://b.example.org:636/"])
        XCTAssertEqual(s.ldapBindDN, "cn=pwdird,dc=example,dc=org")
        XCTAssertTrue(s.ldapTLS)
        XCTAssertEqual(s.ldapCAFile, "/etc/ssl/certs/example-ca.pem")
        XCTAssertEqual(s.ldapTimeout, 3)
        XCTAssertEqual(Settings().store, .file)
        let local = try Settings.parse("store = ldap\nldap_uri = ldap://127.0.0.1:389/ ldap://localhost/ ldap://[::1]:389/ ldap:///\nldap_base = dc=x\nldap_bind_dn = cn=a,dc=x\n")
        XCTAssertEqual(local.0.ldapURIs.count, 4, "loopback servers may be reached in clear")
        for (text, reason) in [("store = ldap\n", "ldap_uri"), ("store = ldap\nldap_uri = ldap://x/\n", "ldap_base"),
                               ("store = ldap\nldap_uri = ldap://x/\nldap_base = dc=x\n", "ldap_bind_dn"),
                               ("store = nfs\n", "file or ldap"), ("ldap_uri = http://x/\n", "ldap://"), ("ldap_tls = maybe\n", "starttls"),
                               ("pwdird_socket = run/socket\n", "absolute"),
                               ("store = ldap\nldap_uri = ldap://127.0.0.1/ ldap://ldap2.example.org/\nldap_base = dc=x\nldap_bind_dn = cn=a,dc=x\n", "in clear"),
                               ("store = ldap\nldap_uri = ldaps://ldap.example.org/\nldap_base = dc=x\nldap_bind_dn = cn=a,dc=x\n", "ldap_ca_file")] {
            XCTAssertThrowsError(try Settings.parse(text)) { e in
                XCTAssertTrue((e as? PwdirError)?.message.contains(reason) ?? false, "\(text): \(e)")
                XCTAssertEqual((e as? PwdirError)?.exitStatus, 5)
            }
        }
    }
}
