// Lockout, expiry, temporary-password TTL, history and libpwquality, driven through the
// module's logic with a scripted host and an injected clock: windows and expiry are tested by
// moving `now`, never by sleeping.
import PwdirCore
import PamHarness
import PwdirTestSupport
import XCTest

final class LockoutPolicyTests: XCTestCase {
    let good = "Correct-Horse-42"
    let t0: Int64 = 1_800_000_000

    func logic(_ f: PamFixture, _ host: FakeHost, now: Int64, _ args: [String] = []) -> ModuleLogic {
        var o = ModuleOptions.parse(args)
        o.db = f.db
        o.config = f.config
        return ModuleLogic(options: o, host: host, now: now)
    }

    func login(_ f: PamFixture, _ user: String, _ password: String, at now: Int64) -> (ModuleResult, FakeHost) {
        let host = FakeHost([("Password: ", password)])
        let r = logic(f, host, now: now).authenticate(user: user)
        host.assertScriptUsed()
        return (r, host)
    }

    func tally(_ f: PamFixture, _ user: String) throws -> Tally {
        try f.tally(user)
    }

    func testThreeWrongPasswordsLockAndTheRightOneIsThenRefused() throws {
        let f = try PamFixture(settings: "deny = 3\n")
        try f.addUser("ana", password: good)
        for i in 0..<3 { XCTAssertEqual(login(f, "ana", "wrong-\(i)", at: t0 + Int64(i)).0, .authError) }
        let (r, host) = login(f, "ana", good, at: t0 + 10)
        XCTAssertEqual(r, .maxTries, "locked: the right password is refused")
        XCTAssertEqual(host.told.map(\.0), [ModuleLogic.lockedMessage], "the user is told, and to contact the administrator")
        XCTAssertEqual(try tally(f, "ana").lockedTime, t0 + 2)
        XCTAssertTrue(host.logs.contains { $0.1.contains("locked after failed logins") })
        XCTAssertEqual(login(f, "ana", "wrong", at: t0 + 11).0, .maxTries, "same answer for a wrong one")
        XCTAssertEqual(try tally(f, "ana").failures.count, 3, "failures on a locked account do not extend it")

        try f.setTally("ana", Tally())  // what pwdir unlock does
        XCTAssertEqual(login(f, "ana", good, at: t0 + 12).0, .success)
    }

    func testSilentHidesTheLockMessage() throws {
        let f = try PamFixture(settings: "deny = 1\n")
        try f.addUser("ana", password: good)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0).0, .authError)
        let host = FakeHost([("Password: ", good)])
        XCTAssertEqual(logic(f, host, now: t0 + 1, ["silent"]).authenticate(user: "ana"), .maxTries)
        XCTAssertTrue(host.told.isEmpty)
    }

    func testASuccessResetsTheCount() throws {
        let f = try PamFixture(settings: "deny = 3\n")
        try f.addUser("ana", password: good)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0).0, .authError)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0 + 1).0, .authError)
        XCTAssertEqual(login(f, "ana", good, at: t0 + 2).0, .success)
        XCTAssertTrue(try tally(f, "ana").isEmpty, "a success clears the tally")
        XCTAssertEqual(login(f, "ana", "wrong", at: t0 + 3).0, .authError)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0 + 4).0, .authError)
        XCTAssertEqual(login(f, "ana", good, at: t0 + 5).0, .success, "two, a success, two: not locked")
    }

    func testFailuresOutsideTheIntervalDoNotCount() throws {
        let f = try PamFixture(settings: "deny = 3\nfail_interval = 60\n")
        try f.addUser("ana", password: good)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0).0, .authError)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0 + 30).0, .authError)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0 + 100).0, .authError, "the first has aged out")
        XCTAssertNil(try tally(f, "ana").lockedTime)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0 + 110).0, .authError, "30, 100, 110 are within 60 s of each other? no: 30 aged out")
        XCTAssertEqual(login(f, "ana", "wrong", at: t0 + 120).0, .authError)
        XCTAssertEqual(login(f, "ana", good, at: t0 + 121).0, .maxTries, "100, 110, 120: three within the window")
    }

    func testUnlockTimeLiftsTheLock() throws {
        let f = try PamFixture(settings: "deny = 2\nunlock_time = 600\n")
        try f.addUser("ana", password: good)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0).0, .authError)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0 + 1).0, .authError)
        let (r, host) = login(f, "ana", good, at: t0 + 300)
        XCTAssertEqual(r, .maxTries)
        XCTAssertTrue(host.told.first?.0.contains("until \(GeneralizedTime.readable(t0 + 601))") ?? false, "\(host.told)")
        XCTAssertEqual(login(f, "ana", good, at: t0 + 601).0, .success, "lifted by itself")
        XCTAssertTrue(try tally(f, "ana").isEmpty)
    }

    func testDenyZeroNeverLocks() throws {
        let f = try PamFixture(settings: "deny = 0\n")
        try f.addUser("ana", password: good)
        for i in 0..<20 { XCTAssertEqual(login(f, "ana", "wrong", at: t0 + Int64(i)).0, .authError) }
        XCTAssertEqual(login(f, "ana", good, at: t0 + 30).0, .success)
    }

    func testWrongCurrentPasswordInPasswdCountsAsAFailure() throws {
        let f = try PamFixture(settings: "deny = 2\n")
        try f.addUser("ana", password: good)
        for i in 0..<2 {
            let host = FakeHost([("Current password: ", "guess-\(i)")])
            XCTAssertEqual(logic(f, host, now: t0 + Int64(i)).prepareChange(user: "ana", changeExpired: false), .authError)
        }
        XCTAssertEqual(login(f, "ana", good, at: t0 + 5).0, .maxTries)
        let host = FakeHost([])
        XCTAssertEqual(logic(f, host, now: t0 + 6).prepareChange(user: "ana", changeExpired: false), .maxTries, "locked: not even asked")
    }

    func testExpiryAndWarning() throws {
        let f = try PamFixture(settings: "maxage = 30\nwarnage = 7\n")
        try f.addUser("ana", password: good)
        let changed = try XCTUnwrap(f.directory.lookup("ana")?.passwordChangedTime)
        let fresh = FakeHost([])
        XCTAssertEqual(logic(f, fresh, now: changed + 86400).accountManagement(user: "ana"), .success)
        XCTAssertTrue(fresh.told.isEmpty)
        let warned = FakeHost([])
        XCTAssertEqual(logic(f, warned, now: changed + 25 * 86400).accountManagement(user: "ana"), .success)
        XCTAssertEqual(warned.told.map(\.0), ["Your password will expire in 5 days."])
        XCTAssertEqual(warned.told.first?.1, false, "a warning is PAM_TEXT_INFO, not an error")
        let expired = FakeHost([])
        XCTAssertEqual(logic(f, expired, now: changed + 30 * 86400).accountManagement(user: "ana"), .newAuthTokenRequired)
        XCTAssertEqual(expired.told.map(\.0), [ModuleLogic.expiredMessage])
    }

    func testTemporaryPasswordStopsWorkingAfterTempTTL() throws {
        let f = try PamFixture(settings: "temp_ttl = 3600\n")
        let hash = try Yescrypt.hashNew(SecretBytes(Array(good.utf8)), cost: 5)
        try f.directory.update { (records) throws(PwdirError) in
            var r = UserRecord(login: "ana")
            r.setPassword(hash: hash, now: self.t0, mustChange: true, temporary: true)
            records.append(r)
        }
        XCTAssertEqual(login(f, "ana", good, at: t0 + 3599).0, .success)
        let (r, host) = login(f, "ana", good, at: t0 + 3600)
        XCTAssertEqual(r, .authError)
        XCTAssertEqual(host.told.map(\.0), [ModuleLogic.temporaryExpiredMessage])
        XCTAssertEqual(logic(f, FakeHost([]), now: t0 + 3600).accountManagement(user: "ana"), .accountExpired)
        XCTAssertEqual(login(f, "ana", "wrong", at: t0 + 3601).1.told.count, 0, "a wrong password is not told about expiry")
    }

    func changePassword(_ f: PamFixture, _ user: String, to new: String, at now: Int64) -> (ModuleResult, FakeHost) {
        let host = FakeHost([("New password: ", new), ("Retype new password: ", new)])
        host.callerIsRoot = true
        return (logic(f, host, now: now).updatePassword(user: user, changeExpired: false), host)
    }

    func testHistoryRefusesTheLastRememberedPasswords() throws {
        let f = try PamFixture(settings: "remember = 2\n")
        try f.addUser("ana", password: good)
        XCTAssertEqual(changePassword(f, "ana", to: "Quartz-Lantern-81", at: t0).0, .success)
        XCTAssertEqual(changePassword(f, "ana", to: "Velvet-Harbor-52", at: t0 + 1).0, .success)
        let before = f.readFile(f.db)
        let (r1, h1) = changePassword(f, "ana", to: "Velvet-Harbor-52", at: t0 + 2)
        XCTAssertEqual(r1, .authTokError)
        XCTAssertTrue(h1.told.first?.0.contains("same as the current") ?? false, "\(h1.told)")
        let (r2, h2) = changePassword(f, "ana", to: "Quartz-Lantern-81", at: t0 + 3)
        XCTAssertEqual(r2, .authTokError)
        XCTAssertTrue(h2.told.first?.0.contains("used recently") ?? false, "\(h2.told)")
        let (r3, _) = changePassword(f, "ana", to: good, at: t0 + 4)
        XCTAssertEqual(r3, .authTokError, "the first password is within the last 2")
        XCTAssertEqual(f.readFile(f.db), before, "refusals change nothing")
        XCTAssertEqual(changePassword(f, "ana", to: "Maple-Comet-39", at: t0 + 5).0, .success)
        XCTAssertEqual(changePassword(f, "ana", to: good, at: t0 + 6).0, .success, "3 changes later the first one is free again")
        let record = try XCTUnwrap(f.directory.lookup("ana"))
        XCTAssertEqual(record.historyHashes.count, 2)
        XCTAssertFalse(record.values(UserRecord.Key.history).contains { !$0.contains("#1.3.6.1.4.1.1466.115.121.1.40#") })
    }

    func testPwqualityReasonIsShownAndNothingChanges() throws {
        let cases: [(settings: String, user: String, weak: String, words: String)] = [
            ("", "anastasia", "1234567890123", "dictionary"),
            ("minclass = 3\n", "anastasia", "lowercaseonlyxx", "character classes"),
            ("", "anastasia", "anastasia-Pw-1", "user name"),
            ("", "anastasia", "aaaaaaaaaaaaaaaa", "palindrome"),
        ]
        for c in cases {
            let f = try PamFixture(settings: c.settings)
            try f.addUser(c.user, password: good)
            let before = f.readFile(f.db)
            let (r, host) = changePassword(f, c.user, to: c.weak, at: t0)
            XCTAssertEqual(r, .authTokError, c.weak)
            let message = host.told.first?.0 ?? ""
            XCTAssertTrue(message.hasPrefix("Password refused: "), message)
            XCTAssertTrue(message.lowercased().contains(c.words), "'\(message)' should give pwquality's reason (\(c.words))")
            XCTAssertFalse(message.contains("\n"))
            XCTAssertEqual(f.readFile(f.db), before, "a refused password changes nothing")
        }
    }

    func testSettingsRejectABadPwqualityValue() {
        XCTAssertThrowsError(try Settings.parse("minclass = lots\n")) { error in
            guard case PwdirError.settings(_, let line, _)? = error as? PwdirError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 1)
        }
        XCTAssertEqual(try Settings.parse("dcredit = -1\nbadwords = acme corp\n").0.qualityOptions, ["dcredit=-1", "badwords=acme corp"])
    }
}
