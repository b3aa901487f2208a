// The module's logic driven by a scripted fake host (no libpam): every prompt expected is
// asked, in order, and every answer is used.
import PwdirCore
import PamHarness
import PwdirTestSupport
import XCTest

final class ModuleLogicTests: XCTestCase {
    let good = "Correct-Horse-42"

    func logic(_ f: PamFixture, _ host: FakeHost, _ args: [String] = []) -> ModuleLogic {
        var o = ModuleOptions.parse(args)
        o.db = f.db
        o.config = f.config
        return ModuleLogic(options: o, host: host, now: 1_800_000_000)
    }

    func testOptionsParsing() {
        let o = ModuleOptions.parse(["db=/x/users", "config=/x/c", "debug", "nodelay", "use_first_pass", "try_first_pass", "use_authtok", "silent", "bogus", "db="])
        XCTAssertEqual(o.db, "/x/users")
        XCTAssertEqual(o.config, "/x/c")
        XCTAssertTrue(o.debug && o.nodelay && o.useFirstPass && o.tryFirstPass && o.useAuthtok && o.silent)
        XCTAssertEqual(o.unknown, ["bogus", "db="])
        XCTAssertEqual(ModuleOptions.parse([]).db, "/var/lib/pwdir/users")
    }

    func testAuthenticateSetsTheTokenAndRemembersTheUser() throws {
        let f = try PamFixture()
        try f.addUser("ana", password: good)
        let host = FakeHost([("Password: ", good)])
        XCTAssertEqual(logic(f, host).authenticate(user: "ana"), .success)
        host.assertScriptUsed()
        XCTAssertEqual(host.authenticatedUser, "ana")
        XCTAssertTrue(host.authToken?.constantTimeEquals(SecretBytes(Array(good.utf8))) ?? false)
    }

    func testFailuresAreLoggedWithoutThePassword() throws {
        let f = try PamFixture()
        try f.addUser("ana", password: good)
        let host = FakeHost([("Password: ", "Secret-Typo-1")])
        XCTAssertEqual(logic(f, host).authenticate(user: "ana"), .authError)
        XCTAssertNil(host.authenticatedUser)
        XCTAssertEqual(host.logs.map(\.1), ["authentication failure for ana"])
        XCTAssertFalse(host.logs.contains { $0.1.contains("Secret-Typo-1") })
    }

    func testSilentLockedMessage() throws {
        let f = try PamFixture()
        try f.addUser("di", password: good, locked: true)
        let loud = FakeHost([("Password: ", good)])
        XCTAssertEqual(logic(f, loud).authenticate(user: "di"), .permissionDenied)
        XCTAssertEqual(loud.told.map(\.0), [ModuleLogic.lockedMessage])
        let quiet = FakeHost([("Password: ", good)])
        XCTAssertEqual(logic(f, quiet, ["silent"]).authenticate(user: "di"), .permissionDenied)
        XCTAssertTrue(quiet.told.isEmpty)
    }

    func testChangeForNonRootAsksCurrentThenNew() throws {
        let f = try PamFixture()
        try f.addUser("ana", password: good)
        let host = FakeHost([("Current password: ", good)])
        XCTAssertEqual(logic(f, host).prepareChange(user: "ana", changeExpired: false), .success)
        host.assertScriptUsed()
        host.script = [("New password: ", "Another-Pass-99"), ("Retype new password: ", "Another-Pass-99")]
        XCTAssertEqual(logic(f, host).updatePassword(user: "ana", changeExpired: false), .success)
        host.assertScriptUsed()
        let r = try XCTUnwrap(f.directory.lookup("ana"))
        XCTAssertEqual(r[UserRecord.Key.passwordChanged], GeneralizedTime.format(1_800_000_000), "the injected clock is used")
    }

    func testUpdateRechecksTheOldPassword() throws {
        let f = try PamFixture()
        try f.addUser("ana", password: good)
        let host = FakeHost([])
        host.oldAuthToken = SecretBytes(Array("not-it-at-all".utf8))
        XCTAssertEqual(logic(f, host).updatePassword(user: "ana", changeExpired: false), .authError)
        let none = FakeHost([])
        XCTAssertEqual(logic(f, none).updatePassword(user: "ana", changeExpired: false), .authTokError)
    }
}
