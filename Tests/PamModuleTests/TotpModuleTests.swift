// The second factor through the module's logic, with a scripted host and an injected clock;
// every code comes from oathtool (oath-toolkit), not from pwdir's own arithmetic.
import CPwdirPAM
import Foundation
import PamHarness
import PwdirCore
import PwdirTestSupport
import XCTest

final class TotpModuleTests: XCTestCase {
    let good = "Correct-Horse-42"
    let t0: Int64 = 1_800_000_010  // 10 s into a step
    let keyText = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    var key: SecretBytes { Base32.decode(Array(keyText.utf8))! }

    /// oathtool's code for the time `at`.
    func oathtool(_ at: Int64, key: String? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/oathtool")
        p.arguments = ["--totp", "-b", key ?? keyText, "-N", "@\(at)"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "oathtool failed")
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func fixture(_ settings: String = "totp = optional\n", arguments: [String] = []) throws -> PamFixture {
        let f = try PamFixture(settings: settings)
        try f.addUser("ana", password: good)
        try f.store.enrolSecondFactor("ana", key: key, now: t0 - 1000)
        _ = arguments
        return f
    }

    func logic(_ f: PamFixture, _ host: FakeHost, now: Int64, arguments: [String] = []) -> ModuleLogic {
        var o = ModuleOptions.parse(["pwdir=/nonexistent/pwdir"] + arguments)
        o.db = f.db
        o.config = f.config
        var logic = ModuleLogic(options: o, host: host, now: now)
        logic.recoveryAnswerFloorMilliseconds = 0
        return logic
    }

    func login(_ f: PamFixture, _ answers: [(String, String?)], now: Int64, arguments: [String] = []) -> (ModuleResult, FakeHost) {
        let host = FakeHost(answers)
        let result = logic(f, host, now: now, arguments: arguments).authenticate(user: "ana")
        host.assertScriptUsed()
        return (result, host)
    }

    func testPasswordThenTheCodeOfThePreviousCurrentOrNextStep() throws {
        for offset: Int64 in [-30, 0, 30] {
            let f = try fixture()
            let (r, host) = login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0 + offset))], now: t0)
            XCTAssertEqual(r, .success, "step \(offset / 30)")
            XCTAssertEqual(host.authenticatedUser, "ana")
        }
        let f = try fixture()
        for offset: Int64 in [-60, 60, 3600] {
            XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0 + offset))], now: t0).0, .authError, "\(offset) s away")
        }
    }

    func testTotpWindowZeroTakesOnlyTheCurrentStep() throws {
        let f = try fixture("totp = optional\ntotp_window = 0\n")
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0 + 30))], now: t0).0, .authError)
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0))], now: t0).0, .success)
    }

    func testACodeIsAcceptedOnceAndEarlierStepsNeverAfter() throws {
        let f = try fixture()
        let code = try oathtool(t0)
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", code)], now: t0).0, .success)
        let (replay, host) = login(f, [("Password: ", good), ("Verification code: ", code)], now: t0 + 5)
        XCTAssertEqual(replay, .authError)
        XCTAssertTrue(host.logs.contains { $0.1.contains("verification code already used") }, "\(host.logs)")
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0 - 30))], now: t0 + 5).0, .authError, "an earlier step")
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0 + 30))], now: t0 + 30).0, .success, "the next step")
        XCTAssertEqual(try f.store.secondFactor("ana")?.lastUsed, t0 + 30)
    }

    func testParallelLoginsWithOneCodeLetExactlyOneIn() throws {
        let f = try fixture("totp = optional\ndeny = 10\n")
        let code = try oathtool(t0)
        let results = LockedBox<[ModuleResult]>([])
        let (db, config, password, now) = (f.db, f.config, good, t0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let host = FakeHost([("Password: ", password), ("Verification code: ", code)])
            var o = ModuleOptions()
            o.db = db
            o.config = config
            let r = ModuleLogic(options: o, host: host, now: now).authenticate(user: "ana")
            results.mutate { $0.append(r) }
        }
        XCTAssertEqual(results.value.filter { $0 == .success }.count, 1, "\(results.value)")
        XCTAssertEqual(results.value.filter { $0 == .authError }.count, 3, "\(results.value)")
    }

    func testWrongCodesCountAndTheRightPasswordDoesNotClearThem() throws {
        let f = try fixture("totp = optional\ndeny = 3\n")
        for i in 0..<2 {
            XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", "00000\(i)")], now: t0 + Int64(i)).0, .authError)
        }
        XCTAssertEqual(try f.tally("ana").failures.count, 2, "wrong codes are failed logins; a right password clears nothing")
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", "999999")], now: t0 + 2).0, .authError)
        let (locked, host) = login(f, [("Password: ", good)], now: t0 + 3)
        XCTAssertEqual(locked, .maxTries, "locked: not even the code is asked")
        XCTAssertEqual(host.told.last?.0, ModuleLogic.lockedMessage(until: nil))
        _ = try f.store.unlock("ana", settings: Settings(), now: t0 + 4)
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0))], now: t0 + 5).0, .success)
        XCTAssertEqual(try f.tally("ana").failures.count, 0, "a whole login clears them")
    }

    func testAWrongPasswordStillAsksTheCode() throws {
        let f = try fixture()
        let (r, host) = login(f, [("Password: ", "Wrong-Horse-42"), ("Verification code: ", try oathtool(t0))], now: t0)
        XCTAssertEqual(r, .authError)
        XCTAssertTrue(host.told.isEmpty, "nothing told that a right password would not be told")
        XCTAssertEqual(try f.tally("ana").failures.count, 1, "one failure, not two")
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0))], now: t0 + 1).0, .success, "the code was not spent")
    }

    func testRequiredWithoutASecondFactorIsRefusedWithItsMessage() throws {
        let f = try PamFixture(settings: "totp = required\n")
        try f.addUser("bo", password: good)
        let host = FakeHost([("Password: ", good)])
        XCTAssertEqual(logic(f, host, now: t0).authenticate(user: "bo"), .permissionDenied)
        XCTAssertEqual(host.told.last?.0, ModuleLogic.secondFactorRequiredMessage)
        XCTAssertNil(host.authenticatedUser)
        let wrong = FakeHost([("Password: ", "Wrong-Horse-42")])
        XCTAssertEqual(logic(f, wrong, now: t0).authenticate(user: "bo"), .permissionDenied, "the same answer: the password's verdict is not told")
        XCTAssertEqual(wrong.told.last?.0, ModuleLogic.secondFactorRequiredMessage)
        XCTAssertEqual(try f.tally("bo").failures.count, 0, "nothing counted either way")
        try f.store.enrolSecondFactor("bo", key: key, now: t0)
        let enrolled = FakeHost([("Password: ", good), ("Verification code: ", try oathtool(t0))])
        XCTAssertEqual(logic(f, enrolled, now: t0).authenticate(user: "bo"), .success)
    }

    func testAWrongPasswordAndAWrongCodeCountTheSame() throws {
        // The failures counted while the code is asked, and after, are the same whatever the
        // password's verdict: one per login, after the code.
        for password in [good, "Wrong-Horse-42"] {
            let f = try fixture("totp = optional\ndeny = 10\n")
            let host = FakeHost([("Password: ", password)])
            host.script.append(("Verification code: ", "000000"))
            var sawFailures: Int?
            let logic = logic(f, host, now: t0)
            // What another login would see while this one waits at the code prompt.
            host.whilePrompted = { prompt in if prompt == "Verification code: " { sawFailures = (try? f.tally("ana"))?.failures.count } }
            XCTAssertEqual(logic.authenticate(user: "ana"), .authError)
            XCTAssertEqual(sawFailures, 0, password)
            XCTAssertEqual(try f.tally("ana").failures.count, 1, password)
            XCTAssertTrue(try f.tally("ana").attempts.filter { $0.isPending }.isEmpty, password)
            XCTAssertTrue(host.told.isEmpty, password)
        }
    }

    func testNoCodeIsAFailureLikeAWrongOne() throws {
        for password in [good, "Wrong-Horse-42"] {
            let f = try fixture()
            XCTAssertEqual(login(f, [("Password: ", password), ("Verification code: ", nil)], now: t0).0, .conversationError, password)
            XCTAssertEqual(try f.tally("ana").failures.count, 1, password)
        }
    }

    func testAnUnknownNameIsAskedTheCodeToo() throws {
        let f = try fixture()
        let host = FakeHost([("Password: ", good), ("Verification code: ", "123456")])
        XCTAssertEqual(logic(f, host, now: t0).authenticate(user: "nobody"), .userUnknown)
        host.assertScriptUsed()
        let off = try PamFixture(settings: "totp = off\n")
        let quiet = FakeHost([("Password: ", good)])
        XCTAssertEqual(logic(off, quiet, now: t0).authenticate(user: "nobody"), .userUnknown, "off: no code asked of anyone")
    }

    func testOptionalAndOff() throws {
        let f = try fixture("totp = off\n")
        XCTAssertEqual(login(f, [("Password: ", good)], now: t0).0, .success, "off: the code is never asked")
        try f.writeFile(f.config, "totp = optional\n")
        try f.addUser("bo", password: good)
        let host = FakeHost([("Password: ", good)])
        XCTAssertEqual(logic(f, host, now: t0).authenticate(user: "bo"), .success, "optional: a user without one logs in with the password")
    }

    func testCodeInPassword() throws {
        let f = try fixture()
        let code = try oathtool(t0)
        let (r, host) = login(f, [("Password: ", good + code)], now: t0, arguments: ["code_in_password"])
        XCTAssertEqual(r, .success)
        XCTAssertEqual(host.authToken.map { $0.withBytes { String(decoding: $0, as: UTF8.self) } }, good, "the modules below see the password alone")
        XCTAssertEqual(login(f, [("Password: ", good + code)], now: t0 + 1, arguments: ["code_in_password"]).0, .authError, "replayed")
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0 + 30))], now: t0 + 30, arguments: ["code_in_password"]).0,
                       .success, "no code at the end: asked")
    }

    func testRecoveryCodesAreSingleUse() throws {
        let f = try fixture()
        var codes: [String] = []
        var stored: [TotpRecoveryCode] = []
        for _ in 0..<3 {
            let code = try RecoveryCode.generate()
            let plain = RecoveryCode.normalize(code)
            stored.append(TotpRecoveryCode(tag: TotpRecoveryCode.tag(of: plain), hash: try Yescrypt.hashNew(plain, cost: 5)))
            codes.append(code.withBytes { String(decoding: $0, as: UTF8.self) })
        }
        try f.store.setSecondFactorRecoveryCodes("ana", stored)
        let (r, host) = login(f, [("Password: ", good), ("Verification code: ", codes[1].lowercased())], now: t0)
        XCTAssertEqual(r, .success)
        XCTAssertEqual(host.told.last?.0, ModuleLogic.recoveryCodesLeftMessage(2))
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", codes[1])], now: t0 + 1).0, .authError, "spent")
        XCTAssertEqual(try f.store.secondFactor("ana")?.recoveryCodesLeft, 2)
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0))], now: t0 + 2).0, .success, "TOTP still works")
        // New codes: the old ones stop working, the spent marks start afresh.
        try f.store.setSecondFactorRecoveryCodes("ana", Array(stored.prefix(1)))
        XCTAssertEqual(try f.store.secondFactor("ana")?.recoveryCodesLeft, 1)
    }

    func testAStateThatCannotBeWrittenRefusesAndKeepsTheKey() throws {
        let f = try fixture()
        let keyFile = f.store.totp.secretPath("ana")
        let before = f.readFile(keyFile)
        // What stands where the state's temp file goes cannot be removed: its write fails.
        XCTAssertEqual(mkdir(f.store.totp.states, 0o700), 0)
        XCTAssertEqual(mkdir(f.store.totp.statePath("ana") + "+", 0o700), 0)
        try f.writeFile(f.store.totp.statePath("ana") + "+/x", "x")
        let code = try oathtool(t0)
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", code)], now: t0).0, .authInfoUnavailable)
        XCTAssertEqual(f.readFile(keyFile), before, "the key is never written by a login")
        XCTAssertEqual(try f.tally("ana").failures.count, 0, "not counted as a failure")
        XCTAssertTrue(try f.tally("ana").attempts.isEmpty, "no attempt left in flight")
        _ = system("rm -rf '\(f.store.totp.statePath("ana"))+'")
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", code)], now: t0 + 1).0, .success, "the code was not recorded: it still works")
    }

    func testACodeWithASpaceInTheMiddleIsACode() throws {
        let f = try fixture()
        let code = try oathtool(t0)
        let spaced = String(code.prefix(3)) + " " + String(code.suffix(3))
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", spaced)], now: t0).0, .success)
    }

    func testAKeyOthersMayReadIsRefused() throws {
        let f = try fixture()
        XCTAssertEqual(chmod(f.store.totp.secretPath("ana"), 0o640), 0)
        let (r, host) = login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0))], now: t0)
        XCTAssertEqual(r, .authInfoUnavailable, "fails closed")
        XCTAssertTrue(host.logs.contains { $0.1.contains("others may read this TOTP key") }, "\(host.logs)")
    }

    func testSelfServiceRecoveryAsksTheSecondFactor() throws {
        let f = try fixture("totp = optional\nrecovery = yes\n")
        func mailCode() throws -> String {
            let code = try RecoveryCode.generate()
            var t = try f.tally("ana")
            t.recovery = RecoveryCode(hash: try Yescrypt.hashNew(RecoveryCode.normalize(code), cost: 5), sent: t0, expires: t0 + 3600, tries: 0)
            try f.setTally("ana", t)
            return code.withBytes { String(decoding: $0, as: UTF8.self) }
        }
        let code = try mailCode()
        let (refused, host) = login(f, [("Password: ", ""), ("Recovery code: ", code), ("Verification code: ", "000000")], now: t0 + 10)
        XCTAssertEqual(refused, .authError)
        XCTAssertEqual(host.told.last?.0, ModuleLogic.recoveryNeedsSecondFactorMessage)
        XCTAssertEqual(login(f, [("Password: ", good), ("Verification code: ", try oathtool(t0 - 30))], now: t0 + 11).0, .success, "the password did not change")
        let again = try mailCode()  // the login above made the first one void
        let (ok, _) = login(f, [("Password: ", ""), ("Recovery code: ", again), ("Verification code: ", try oathtool(t0 + 12)),
                                ("New password: ", "Brand-New-Pass-88"), ("Retype new password: ", "Brand-New-Pass-88")], now: t0 + 12)
        XCTAssertEqual(ok, .success)
        XCTAssertEqual(login(f, [("Password: ", "Brand-New-Pass-88"), ("Verification code: ", try oathtool(t0 + 30))], now: t0 + 30).0, .success)
    }

    func testThroughLibpam() throws {
        let f = try PamFixture(settings: "totp = optional\n")
        try f.addUser("ana", password: good)
        try f.store.enrolSecondFactor("ana", key: key, now: systemNow())
        let now = systemNow()
        // Clear of a step's end, so the code is still the current step's when the module checks.
        if now % 30 > 26 { sleep(UInt32(31 - now % 30)) }
        let code = try oathtool(systemNow())
        let client = try f.client("ana", answers: [good, code])
        XCTAssertEqual(client.authenticate(), PAM_SUCCESS)
        XCTAssertEqual(client.prompts, ["Password: ", "Verification code: "])
        let again = try f.client("ana", answers: [good, code])
        XCTAssertEqual(again.authenticate(), PAM_AUTH_ERR, "replayed")
    }
}

/// A value shared by the threads of a test, behind a lock.
final class LockedBox<T>: @unchecked Sendable {
    private var stored: T
    private let lock = NSLock()
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    func mutate(_ body: (inout T) -> Void) { lock.withLock { body(&stored) } }
}
