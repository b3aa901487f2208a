// Self-service recovery through the module's logic, with a scripted host and an injected
// clock: the code is put in the tally as the helper would, then typed at the prompt.
import PwdirCore
import PamHarness
import PwdirTestSupport
import XCTest

final class RecoveryTests: XCTestCase {
    let good = "Correct-Horse-42"
    let t0: Int64 = 1_800_000_000

    func logic(_ f: PamFixture, _ host: FakeHost, now: Int64) -> ModuleLogic {
        var o = ModuleOptions.parse(["pwdir=/nonexistent/pwdir"])
        o.db = f.db
        o.config = f.config
        var logic = ModuleLogic(options: o, host: host, now: now)
        logic.recoveryAnswerFloorMilliseconds = 0
        return logic
    }

    /// Stores a code for `user` as `pwdir recovery-request` does; returns it as typed.
    func storeCode(_ f: PamFixture, _ user: String, sent: Int64, ttl: Int64 = 3600) throws -> String {
        let code = try RecoveryCode.generate()
        let hash = try Yescrypt.hashNew(RecoveryCode.normalize(code), cost: 5)
        var t = try f.tally(user)
        t.recovery = RecoveryCode(hash: hash, sent: sent, expires: sent + ttl, tries: 0)
        try f.setTally(user, t)
        return code.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    func tally(_ f: PamFixture, _ user: String) throws -> Tally { try f.tally(user) }

    func testCodeFormat() throws {
        let code = try RecoveryCode.generate().withBytes { String(decoding: $0, as: UTF8.self) }
        XCTAssertNotNil(code.range(of: "^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$", options: .regularExpression), code)
        let typed = RecoveryCode.normalize(SecretBytes(Array("ab2c d3ef-gh4k".utf8)))
        XCTAssertEqual(typed.withBytes { String(decoding: $0, as: UTF8.self) }, "AB2CD3EFGH4K")
    }

    func testTheRightCodeSetsANewPasswordAndLogsIn() throws {
        let f = try PamFixture(settings: "recovery = yes\n")
        try f.addUser("ana", password: good)
        let code = try storeCode(f, "ana", sent: t0)
        let host = FakeHost([("Password: ", ""), ("Recovery code: ", code.lowercased()), ("New password: ", "Brand-New-Pass-88"), ("Retype new password: ", "Brand-New-Pass-88")])
        XCTAssertEqual(logic(f, host, now: t0 + 60).authenticate(user: "ana"), .success)
        host.assertScriptUsed()
        XCTAssertEqual(host.told.first?.0, ModuleLogic.recoveryMessage)
        XCTAssertEqual(host.authenticatedUser, "ana")
        let after = try tally(f, "ana")
        XCTAssertFalse(after.recovery?.isUsable(now: t0 + 60) ?? false, "the code is spent")
        XCTAssertTrue(after.failures.isEmpty)
        let again = FakeHost([("Password: ", "Brand-New-Pass-88")])
        XCTAssertEqual(logic(f, again, now: t0 + 61).authenticate(user: "ana"), .success)
        let reuse = FakeHost([("Password: ", ""), ("Recovery code: ", code)])
        XCTAssertEqual(logic(f, reuse, now: t0 + 62).authenticate(user: "ana"), .authError, "single use")
        XCTAssertEqual(reuse.told.last?.0, ModuleLogic.badCodeMessage)
    }

    func testAnExpiredCodeFails() throws {
        let f = try PamFixture(settings: "recovery = yes\nrecovery_ttl = 3600\n")
        try f.addUser("ana", password: good)
        let code = try storeCode(f, "ana", sent: t0)
        let host = FakeHost([("Password: ", ""), ("Recovery code: ", code)])
        XCTAssertEqual(logic(f, host, now: t0 + 3600).authenticate(user: "ana"), .authError)
        host.assertScriptUsed()
        let before = f.readFile(f.db)
        XCTAssertEqual(f.readFile(f.db), before)
    }

    func testThreeWrongCodesUseItUpAndCountAsFailures() throws {
        let f = try PamFixture(settings: "recovery = yes\ndeny = 10\n")
        try f.addUser("ana", password: good)
        let code = try storeCode(f, "ana", sent: t0)
        for i in 0..<3 {
            let host = FakeHost([("Password: ", ""), ("Recovery code: ", "WRON-GCOD-E\(i)ZZ")])
            XCTAssertEqual(logic(f, host, now: t0 + Int64(i)).authenticate(user: "ana"), .authError)
        }
        let usedUp = try XCTUnwrap(try tally(f, "ana").recovery, "a used-up code keeps its send time (rate limit)")
        XCTAssertFalse(usedUp.isUsable(now: t0 + 10), "three tries use the code up")
        XCTAssertEqual(try tally(f, "ana").failures.count, 3, "wrong codes count as failed logins")
        let late = FakeHost([("Password: ", ""), ("Recovery code: ", code)])
        XCTAssertEqual(logic(f, late, now: t0 + 10).authenticate(user: "ana"), .authError)
    }

    func testBruteForcedCodesLockTheAccount() throws {
        let f = try PamFixture(settings: "recovery = yes\ndeny = 2\n")
        try f.addUser("ana", password: good)
        let code = try storeCode(f, "ana", sent: t0)
        for i in 0..<2 {
            let host = FakeHost([("Password: ", ""), ("Recovery code: ", "AAAA-BBBB-CCC\(i)")])
            XCTAssertEqual(logic(f, host, now: t0 + Int64(i)).authenticate(user: "ana"), .authError)
        }
        XCTAssertNotNil(try tally(f, "ana").lockedTime)
        let right = FakeHost([("Password: ", ""), ("Recovery code: ", code)])
        XCTAssertEqual(logic(f, right, now: t0 + 5).authenticate(user: "ana"), .authError, "a locked account cannot recover itself")
        XCTAssertEqual(logic(f, FakeHost([("Password: ", good)]), now: t0 + 6).authenticate(user: "ana"), .maxTries)
    }

    func testUnknownAndNoMailboxUsersSeeTheSameWords() throws {
        let f = try PamFixture(settings: "recovery = yes\n")
        try f.addUser("ana", password: good)
        var told: [[String]] = []
        for user in ["ana", "nobody", "no:valid"] {
            let host = FakeHost([("Password: ", ""), ("Recovery code: ", "ABCD-EFGH-JKLM")])
            XCTAssertNotEqual(logic(f, host, now: t0).authenticate(user: user), .success)
            host.assertScriptUsed()
            told.append(host.told.map(\.0))
        }
        XCTAssertEqual(told[0], told[1])
        XCTAssertEqual(told[1], told[2])
        XCTAssertEqual(told[0], [ModuleLogic.recoveryMessage, ModuleLogic.badCodeMessage])
    }

    func testAnEmptyCodeGivesUpWithoutATry() throws {
        let f = try PamFixture(settings: "recovery = yes\n")
        try f.addUser("ana", password: good)
        _ = try storeCode(f, "ana", sent: t0)
        let host = FakeHost([("Password: ", ""), ("Recovery code: ", "")])
        XCTAssertEqual(logic(f, host, now: t0 + 1).authenticate(user: "ana"), .authError)
        XCTAssertEqual(host.told.last?.0, ModuleLogic.recoveryAbandonedMessage)
        let t = try tally(f, "ana")
        XCTAssertEqual(t.recovery?.tries, 0)
        XCTAssertTrue(t.failures.isEmpty)
    }

    func testWithoutRecoveryAnEmptyPasswordIsJustWrong() throws {
        let f = try PamFixture()
        try f.addUser("ana", password: good)
        let host = FakeHost([("Password: ", "")])
        XCTAssertEqual(logic(f, host, now: t0).authenticate(user: "ana"), .authError)
        host.assertScriptUsed()
        XCTAssertTrue(host.told.isEmpty)
    }

    func testAPolicyFailureKeepsTheCode() throws {
        let f = try PamFixture(settings: "recovery = yes\n")
        try f.addUser("ana", password: good)
        let code = try storeCode(f, "ana", sent: t0)
        let weak = FakeHost([("Password: ", ""), ("Recovery code: ", code), ("New password: ", "short"), ("Retype new password: ", "short")])
        XCTAssertEqual(logic(f, weak, now: t0 + 1).authenticate(user: "ana"), .authError)
        XCTAssertTrue(weak.told.last?.0.hasPrefix("Password refused:") ?? false)
        XCTAssertNotNil(try tally(f, "ana").recovery)
        let ok = FakeHost([("Password: ", ""), ("Recovery code: ", code), ("New password: ", "Brand-New-Pass-88"), ("Retype new password: ", "Brand-New-Pass-88")])
        XCTAssertEqual(logic(f, ok, now: t0 + 2).authenticate(user: "ana"), .success)
    }

    func testTheAuditTrailHoldsNoSecret() throws {
        let f = try PamFixture(settings: "recovery = yes\n")
        try f.addUser("ana", password: good)
        let code = try storeCode(f, "ana", sent: t0)
        _ = logic(f, FakeHost([("Password: ", "Wrong-Guess-1")]), now: t0).authenticate(user: "ana")
        _ = logic(f, FakeHost([("Password: ", ""), ("Recovery code: ", "WRON-GCOD-EXXX")]), now: t0 + 1).authenticate(user: "ana")
        _ = logic(f, FakeHost([("Password: ", ""), ("Recovery code: ", code), ("New password: ", "Brand-New-Pass-88"), ("Retype new password: ", "Brand-New-Pass-88")]), now: t0 + 2).authenticate(user: "ana")
        let audit = String(decoding: f.readFile(f.root + "/audit.log") ?? [], as: UTF8.self)
        // wrong password, wrong code, and the change in two lines (pending, then ok)
        XCTAssertEqual(audit.split(separator: "\n").count, 4, audit)
        for secret in [good, "Wrong-Guess-1", code, "WRON-GCOD-EXXX", "Brand-New-Pass-88", "$y$"] {
            XCTAssertFalse(audit.contains(secret), "audit holds '\(secret)'")
        }
        XCTAssertTrue(audit.contains("\"actor\":\"pam:fake\""))
    }
}
