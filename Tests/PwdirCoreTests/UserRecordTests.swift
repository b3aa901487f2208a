import PwdirCore
import PwdirTestSupport
import XCTest

/// `UserRecord`: attribute access and the typed views the module and the command rely on.
final class UserRecordTests: XCTestCase {
    func testSubscriptGetsSetsAndRemoves() {
        var r = UserRecord(login: "ana", attributes: [.init("cn", "Ana"), .init("x", "1"), .init("mail", "a@example.org")])
        XCTAssertEqual(r["x"], "1")
        XCTAssertNil(r["nope"])
        r["x"] = "2"
        XCTAssertEqual(r.attributes.map(\.name), ["cn", "x", "mail"], "a changed value keeps its place")
        XCTAssertEqual(r["x"], "2")
        r["new"] = "n"
        XCTAssertEqual(r.attributes.last, .init("new", "n"))
        r["x"] = nil
        XCTAssertEqual(r.attributes.map(\.name), ["cn", "mail", "new"])
    }

    func testSettingASingleValueCollapsesRepeats() {
        var r = UserRecord(login: "a", attributes: [.init("v", "1"), .init("w", "w"), .init("v", "2"), .init("v", "3")])
        r["v"] = "only"
        XCTAssertEqual(r.attributes, [.init("v", "only"), .init("w", "w")])
    }

    func testMultiValues() {
        var r = UserRecord(login: "a", attributes: [.init("cn", "A"), .init("pwdHistory", "h1"), .init("mail", "m"), .init("pwdHistory", "h2")])
        XCTAssertEqual(r.values("pwdHistory"), ["h1", "h2"])
        r.setValues("pwdHistory", ["n1", "n2", "n3"])
        XCTAssertEqual(r.attributes.map(\.name), ["cn", "pwdHistory", "pwdHistory", "pwdHistory", "mail"])
        XCTAssertEqual(r.values("pwdHistory"), ["n1", "n2", "n3"])
        r.setValues("pwdHistory", [])
        XCTAssertEqual(r.values("pwdHistory"), [])
        XCTAssertEqual(r.attributes.map(\.name), ["cn", "mail"])
        r.setValues("other", ["o"])
        XCTAssertEqual(r.attributes.last, .init("other", "o"))
        XCTAssertEqual(UserRecord.Key.multiValued, ["pwdHistory"])
    }

    func testTypedViews() {
        var r = UserRecord(login: "bo")
        XCTAssertEqual(r.role, .user)
        r.role = .admin
        XCTAssertEqual(r[UserRecord.Key.role], "admin")
        r.role = .user
        XCTAssertNil(r[UserRecord.Key.role], "the default role is not stored")
        r[UserRecord.Key.role] = "emperor"
        XCTAssertEqual(r.role, .user, "an unknown role reads as the least privileged")

        r.fullName = "Bo Diddley"
        r.mail = "bo@example.org"
        r.recoveryMail = "bo@home.example"
        r.manager = "ana"
        XCTAssertEqual(r["cn"], "Bo Diddley")
        XCTAssertEqual(r["mail"], "bo@example.org")
        XCTAssertEqual(r["pwdirRecoveryMail"], "bo@home.example")
        XCTAssertEqual(r["manager"], "ana")
        r.mail = nil
        XCTAssertNil(r["mail"])

        XCTAssertFalse(r.mustChangePassword)
        r.mustChangePassword = true
        XCTAssertEqual(r["pwdReset"], "TRUE")
        r.mustChangePassword = false
        XCTAssertNil(r["pwdReset"])

        XCTAssertFalse(r.isAdminLocked)
        r["pwdAccountLockedTime"] = UserRecord.adminLockValue
        XCTAssertTrue(r.isAdminLocked)
        r["pwdAccountLockedTime"] = "20240101000000Z"
        XCTAssertFalse(r.isAdminLocked, "a failure lock is not an administrator's lock")
    }

    func testPasswordHashIsStoredWithCryptScheme() {
        var r = UserRecord(login: "a")
        XCTAssertNil(r.passwordHash)
        XCTAssertFalse(r.hasPassword)
        r.passwordHash = YescryptTests.libxcryptVector
        XCTAssertEqual(r["userPassword"], "{CRYPT}" + YescryptTests.libxcryptVector)
        XCTAssertEqual(r.passwordHash, YescryptTests.libxcryptVector)
        XCTAssertTrue(r.hasPassword)
        r["userPassword"] = YescryptTests.libxcryptVector  // no scheme: not a crypt hash
        XCTAssertNil(r.passwordHash)
        XCTAssertFalse(r.hasPassword)
        r["userPassword"] = "{CRYPT}!" + YescryptTests.libxcryptVector  // locked, pam_unix style
        XCTAssertFalse(r.hasPassword)
        r.passwordHash = nil
        XCTAssertNil(r["userPassword"])
    }

    func testSetPasswordRecordsTimeAndMustChange() {
        var r = UserRecord(login: "a")
        r.setPassword(hash: YescryptTests.libxcryptVector, now: 1_709_210_096, mustChange: true)
        XCTAssertEqual(r.passwordHash, YescryptTests.libxcryptVector)
        XCTAssertEqual(r["pwdChangedTime"], "20240229123456Z")
        XCTAssertEqual(r.passwordChangedTime, 1_709_210_096)
        XCTAssertTrue(r.mustChangePassword)
        r.setPassword(hash: YescryptTests.libxcryptVector, now: 0, mustChange: false)
        XCTAssertFalse(r.mustChangePassword)
        XCTAssertEqual(r.passwordChangedTime, 0)
        XCTAssertEqual(r.attributes.filter { $0.name == "pwdChangedTime" }.count, 1)
    }
}
