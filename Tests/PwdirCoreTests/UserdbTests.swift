#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PwdirCore
import PwdirTestSupport
import XCTest

/// Accounts published as systemd userdb records: the JSON, the files in the folder, and the
/// choice of uid numbers.
final class UserdbTests: XCTestCase {
    func ana(uid: UInt32? = 61000) -> UserRecord {
        var r = UserRecord(login: "ana")
        r.fullName = "Ana \"Nana\" Lopez\u{1}"
        r.uidNumber = uid
        r.gidNumber = uid
        r.homeDirectory = "/home/ana"
        r.loginShell = "/bin/sh"
        r.passwordHash = "$y$j9T$abc$def"
        return r
    }

    func json(_ bytes: [UInt8]?) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(bytes))) as? [String: Any])
    }

    func testTheUserRecordIsValidJSONWithoutTheHash() throws {
        let bytes = UserdbFolder.userRecord(ana())
        let o = try json(bytes)
        XCTAssertEqual(o["userName"] as? String, "ana")
        XCTAssertEqual(o["realName"] as? String, "Ana \"Nana\" Lopez\u{1}")
        XCTAssertEqual(o["uid"] as? Int, 61000)
        XCTAssertEqual(o["gid"] as? Int, 61000)
        XCTAssertEqual(o["locked"] as? Bool, false)
        XCTAssertEqual(o["service"] as? String, UserdbFolder.service)
        XCTAssertFalse(String(decoding: bytes!, as: UTF8.self).contains("$y$"), "the hash is published")
        var locked = ana()
        locked[UserRecord.Key.lockedTime] = UserRecord.adminLockValue
        XCTAssertEqual(try json(UserdbFolder.userRecord(locked))["locked"] as? Bool, true)
        XCTAssertNil(UserdbFolder.userRecord(ana(uid: nil)), "an account without a uid is not published")
        XCTAssertEqual(try json(UserdbFolder.groupRecord(ana()))["groupName"] as? String, "ana")
        var other = ana()
        other.gidNumber = 100
        XCTAssertNil(UserdbFolder.groupRecord(other), "a user of an existing group has no private group")
    }

    func testPublishWithdrawAndSyncTouchOnlyPwdirsFiles() throws {
        let folder = UserdbFolder(path: try makeTempFolder() + "/userdb")
        try folder.publish(ana())
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)), ["ana.user", "61000.user", "ana.group", "61000.group"])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: folder.path + "/61000.user"), "ana.user")
        XCTAssertEqual(modeOf(folder.path + "/ana.user"), 0o644)
        XCTAssertEqual(modeOf(folder.path), 0o755)
        // a new number: the old links go
        var moved = ana(uid: 61001)
        moved.gidNumber = 61001
        try folder.publish(moved, previous: ana())
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)), ["ana.user", "61001.user", "ana.group", "61001.group"])
        // another service's record is never replaced nor removed
        let foreign = Array("{\"userName\":\"bo\",\"uid\":61002,\"service\":\"io.example\"}".utf8)
        FileManager.default.createFile(atPath: folder.path + "/bo.user", contents: Data(foreign))
        var bo = UserRecord(login: "bo")
        bo.uidNumber = 61003
        XCTAssertThrowsError(try folder.publish(bo))
        XCTAssertEqual(readFile(folder.path + "/bo.user"), foreign)
        var twin = UserRecord(login: "cy")  // the same number as ana's, from another directory
        twin.uidNumber = 61001
        twin.gidNumber = 61001
        XCTAssertThrowsError(try folder.publish(twin), "a published number repointed to another account")
        XCTAssertFalse(exists(folder.path + "/cy.user"), "half of cy was published")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: folder.path + "/61001.user"), "ana.user")
        try folder.withdraw(twin)
        XCTAssertTrue(exists(folder.path + "/61001.user"), "withdrawing cy removed ana's link")
        XCTAssertEqual(try folder.sync([]), 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["bo.user"])
        try folder.sync([moved])
        try folder.withdraw(moved)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["bo.user"])
    }

    func testNumbersAvoidTheSystemAndTheDirectory() throws {
        var system = SystemAccounts()
        system.userOfUID = [20000: "taken", 20003: "ana"]
        system.uidOfUser = ["taken": 20000, "ana": 20003]
        system.groupOfGID = [20001: "busy"]
        system.gidOfGroup = ["busy": 20001]
        var ids = PosixIDs(range: 20000...20005, held: [20002: "bo", 20003: "ana"], system: system, askEach: false)
        XCTAssertEqual(try ids.allocate(for: "cy"), 20004, "20000 a system user, 20001 a system group, 20002 and 20003 held")
        XCTAssertEqual(try ids.allocate(for: "dee"), 20005)
        XCTAssertThrowsError(try ids.allocate(for: "eve"), "the range is full")
        XCTAssertThrowsError(try ids.claim(20000, for: "eve"), "the system's")
        XCTAssertThrowsError(try ids.claim(20002, for: "eve"), "bo's")
        XCTAssertNoThrow(try ids.claim(20003, for: "ana"), "ana's own published record is not a collision")
        XCTAssertNil(ids.systemAccount(named: "ana"), "pwdir's own record")
        XCTAssertEqual(ids.systemAccount(named: "taken"), 20000)
        XCTAssertThrowsError(try PosixAccount.number("0", field: "--uid"))
        XCTAssertThrowsError(try PosixAccount.number("65534", field: "--uid"))
        XCTAssertThrowsError(try PosixAccount.number("12a", field: "--uid"))
        XCTAssertEqual(try PosixAccount.number("61000", field: "--uid"), 61000)
        XCTAssertThrowsError(try PosixAccount.validatePath("/home/a:b", field: "--home"))
        XCTAssertThrowsError(try PosixAccount.validatePath("relative", field: "--home"))
        XCTAssertThrowsError(try PosixAccount.validatePath("/home//ana", field: "--home"), "systemd drops an unnormalized home")
        XCTAssertThrowsError(try PosixAccount.validatePath("/home/../root", field: "--home"))
        XCTAssertThrowsError(try PosixAccount.validatePath("/home/ana/", field: "--home"))
        XCTAssertNoThrow(try PosixAccount.validatePath("/srv/ana", field: "--home"))
        XCTAssertThrowsError(try Settings.parse("uid_min = 50000\nuid_max = 70000\n"), "overlaps systemd's ranges")
        XCTAssertNoThrow(try Settings.parse("uid_min = 100000\nuid_max = 200000\n"))
    }
}
