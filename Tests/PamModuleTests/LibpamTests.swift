// In-process tests through the real libpam: pam_start_confdir loads the built module from a
// service file written into a temp folder; every hook's return code is asserted in every
// state of an account.
import CPwdirPAM
import Foundation
import PwdirCore
import PamHarness
import PwdirTestSupport
import XCTest

final class LibpamTests: XCTestCase {
    let good = "Correct-Horse-42"
    let newPassword = "Battery-Staple-77"

    override func setUpWithError() throws {
        try XCTSkipUnless(access(PamFixture.modulePath, R_OK) == 0, "build the module first (swift build -c release)")
    }

    func fixtureWithUsers(format: Int = 2) throws -> PamFixture {
        let f = try PamFixture(format: format)
        try f.addUser("ana", password: good)
        try f.addUser("bo", password: good, mustChange: true)
        try f.addUser("cy", password: nil)
        try f.addUser("di", password: good, locked: true)
        return f
    }

    func testAuthenticateInEveryState() throws {
        let f = try fixtureWithUsers()
        XCTAssertEqual(try f.client("ana", answers: [good]).authenticate(), PAM_SUCCESS)
        XCTAssertEqual(try f.client("ana", answers: ["wrong"]).authenticate(), PAM_AUTH_ERR)
        XCTAssertEqual(try f.client("ana", answers: [""]).authenticate(), PAM_AUTH_ERR)
        XCTAssertEqual(try f.client("nobody", answers: [good]).authenticate(), PAM_USER_UNKNOWN)
        XCTAssertEqual(try f.client("bad:name", answers: [good]).authenticate(), PAM_USER_UNKNOWN)
        XCTAssertEqual(try f.client("bo", answers: [good]).authenticate(), PAM_SUCCESS, "must-change still authenticates")
        XCTAssertEqual(try f.client("cy", answers: [""]).authenticate(), PAM_AUTH_ERR, "no password: no login")
        XCTAssertEqual(try f.client("cy", answers: ["anything"]).authenticate(), PAM_AUTH_ERR)
        let locked = try f.client("di", answers: [good])
        XCTAssertEqual(locked.authenticate(), PAM_PERM_DENIED, "locked refuses even the right password")
        XCTAssertEqual(locked.errors, [ModuleLogic.lockedMessage])
        XCTAssertEqual(try f.client("di", answers: ["wrong"]).authenticate(), PAM_PERM_DENIED, "same answer for a wrong one")
        XCTAssertEqual(try f.client("ana", answers: []).authenticate(), PAM_CONV_ERR, "conversation failure")
        let tooLong = String(repeating: "x", count: 513)
        XCTAssertEqual(try f.client("ana", answers: [tooLong]).authenticate(), PAM_AUTH_ERR)
    }

    func testPromptsAndNoOutput() throws {
        let f = try fixtureWithUsers()
        let c = try f.client("ana", answers: [good])
        XCTAssertEqual(c.authenticate(), PAM_SUCCESS)
        XCTAssertEqual(c.prompts, ["Password: "])
        XCTAssertEqual(c.errors, [])
    }

    func testAccountManagementInEveryState() throws {
        let f = try fixtureWithUsers()
        XCTAssertEqual(try f.client("ana").acctMgmt(), PAM_SUCCESS)
        let bo = try f.client("bo")
        XCTAssertEqual(bo.acctMgmt(), PAM_NEW_AUTHTOK_REQD)
        XCTAssertEqual(bo.errors, [ModuleLogic.mustChangeMessage])
        XCTAssertEqual(try f.client("cy").acctMgmt(), PAM_PERM_DENIED)
        XCTAssertEqual(try f.client("di").acctMgmt(), PAM_PERM_DENIED)
        XCTAssertEqual(try f.client("nobody").acctMgmt(), PAM_USER_UNKNOWN)
    }

    func testSetcredAndSessions() throws {
        let f = try fixtureWithUsers()
        let c = try f.client("ana", answers: [good])
        XCTAssertEqual(c.authenticate(), PAM_SUCCESS)
        XCTAssertEqual(c.setcred(), PAM_SUCCESS)
        XCTAssertEqual(c.openSession(), PAM_SUCCESS)
        XCTAssertEqual(c.closeSession(), PAM_SUCCESS)
        XCTAssertEqual(c.setcred(Int32(PAM_DELETE_CRED)), PAM_SUCCESS)
    }

    /// The admin story: a must-change password, changed after authenticate with
    /// PAM_CHANGE_EXPIRED_AUTHTOK (no second "Current password"), then the new one works.
    func testForcedChangeAfterAuthenticate() throws {
        let f = try fixtureWithUsers()
        let c = try f.client("bo", answers: [good, newPassword, newPassword])
        XCTAssertEqual(c.authenticate(), PAM_SUCCESS)
        XCTAssertEqual(c.acctMgmt(), PAM_NEW_AUTHTOK_REQD)
        XCTAssertEqual(c.chauthtok(Int32(PAM_CHANGE_EXPIRED_AUTHTOK)), PAM_SUCCESS)
        XCTAssertEqual(c.prompts, ["Password: ", "New password: ", "Retype new password: "])
        XCTAssertEqual(try f.client("bo", answers: [newPassword]).authenticate(), PAM_SUCCESS)
        XCTAssertEqual(try f.client("bo").acctMgmt(), PAM_SUCCESS, "must-change cleared")
        XCTAssertEqual(try f.client("bo", answers: [good]).authenticate(), PAM_AUTH_ERR, "old one fails")
        let record = try XCTUnwrap(f.directory.lookup("bo"))
        XCTAssertFalse(record.mustChangePassword)
        XCTAssertNotNil(record.passwordChangedTime)
    }

    /// Without a successful authenticate in the same handle, the current password is asked
    /// (also for root when the change is for an expired password, as pam_unix does).
    func testChangeExpiredWithoutAuthenticateAsksCurrentPassword() throws {
        let f = try fixtureWithUsers()
        let wrong = try f.client("bo", answers: ["wrong", newPassword, newPassword])
        XCTAssertEqual(wrong.chauthtok(Int32(PAM_CHANGE_EXPIRED_AUTHTOK)), PAM_AUTH_ERR)
        XCTAssertEqual(wrong.prompts, ["Current password: "])
        let right = try f.client("bo", answers: [good, newPassword, newPassword])
        XCTAssertEqual(right.chauthtok(Int32(PAM_CHANGE_EXPIRED_AUTHTOK)), PAM_SUCCESS)
        XCTAssertEqual(right.prompts, ["Current password: ", "New password: ", "Retype new password: "])
    }

    /// Root (these tests run as root) changes a password without the current one.
    func testRootChangesWithoutCurrentPassword() throws {
        try XCTSkipUnless(getuid() == 0, "needs root")
        let f = try fixtureWithUsers()
        let c = try f.client("ana", answers: [newPassword, newPassword])
        XCTAssertEqual(c.chauthtok(), PAM_SUCCESS)
        XCTAssertEqual(c.prompts, ["New password: ", "Retype new password: "])
        XCTAssertEqual(try f.client("ana", answers: [newPassword]).authenticate(), PAM_SUCCESS)
    }

    func testChangeRefusalsLeaveTheDirectoryAsItWas() throws {
        let f = try fixtureWithUsers()
        let before = f.readFile(f.db)
        let cases: [([String], String)] = [
            (["short1A", "short1A"], "shorter than 12"),
            ([newPassword, newPassword + "x"], "do not match"),
            ([good, good], "same as the current"),
        ]
        for (answers, expected) in cases {
            let c = try f.client("ana", answers: answers)
            XCTAssertEqual(c.chauthtok(), PAM_AUTHTOK_ERR, expected)
            XCTAssertTrue(c.errors.contains { $0.contains(expected) }, "\(c.errors) should mention '\(expected)'")
            XCTAssertEqual(f.readFile(f.db), before, "refused change must not touch the directory")
        }
        // A user pwdir does not know: the new password is collected for the module below and the
        // module answers PAM_IGNORE; alone in the stack, libpam then refuses (PAM_PERM_DENIED).
        XCTAssertEqual(try f.client("nobody", answers: [newPassword, newPassword]).chauthtok(), PAM_PERM_DENIED)
        XCTAssertEqual(try f.client("di", answers: [newPassword, newPassword]).chauthtok(), PAM_PERM_DENIED)
        XCTAssertEqual(f.readFile(f.db), before)
    }

    func testUseAuthtokTakesTheTokenFromAbove() throws {
        let f = try fixtureWithUsers()
        try f.writeService(moduleArguments: ["nodelay", "use_authtok"], tokenFromAbove: true)
        defer { unsetenv("PAM_AUTHTOK") }
        let c = try f.client("ana")
        c.setAuthToken(nil)
        XCTAssertEqual(c.chauthtok(), PAM_AUTHTOK_ERR, "use_authtok with no token from above fails")
        let d = try f.client("ana")
        d.setAuthToken(newPassword)
        XCTAssertEqual(d.chauthtok(), PAM_SUCCESS)
        XCTAssertEqual(d.prompts, [])
        XCTAssertEqual(try f.client("ana", answers: [newPassword]).authenticate(), PAM_SUCCESS)
    }

    func testFirstPassOptions() throws {
        let f = try fixtureWithUsers()
        try f.writeService(moduleArguments: ["nodelay", "use_first_pass", "some_unknown_argument"], tokenFromAbove: true)
        defer { unsetenv("PAM_AUTHTOK") }
        let noToken = try f.client("ana", answers: [good])
        noToken.setAuthToken(nil)
        XCTAssertEqual(noToken.authenticate(), PAM_AUTH_ERR, "use_first_pass never prompts")
        XCTAssertEqual(noToken.prompts, [])
        let withToken = try f.client("ana")
        withToken.setAuthToken(good)
        XCTAssertEqual(withToken.authenticate(), PAM_SUCCESS)

        try f.writeService(moduleArguments: ["nodelay", "try_first_pass"], tokenFromAbove: true)
        let wrongToken = try f.client("ana", answers: [good])
        wrongToken.setAuthToken("wrong")
        XCTAssertEqual(wrongToken.authenticate(), PAM_SUCCESS, "try_first_pass asks when the token from above fails")
        XCTAssertEqual(wrongToken.prompts, ["Password: "])
        let wrongTwice = try f.client("ana", answers: ["also wrong"])
        wrongTwice.setAuthToken("wrong")
        XCTAssertEqual(wrongTwice.authenticate(), PAM_AUTH_ERR)
        let noTokenTry = try f.client("ana", answers: [good])
        noTokenTry.setAuthToken(nil)
        XCTAssertEqual(noTokenTry.authenticate(), PAM_SUCCESS, "try_first_pass prompts when there is no token")
    }

    func testBrokenDirectoryFailsClosed() throws {
        try brokenDirectoryFailsClosed(format: 1)
        try brokenDirectoryFailsClosed(format: 2)
    }

    func brokenDirectoryFailsClosed(format: Int) throws {
        let f = try fixtureWithUsers(format: format)
        // In format 2 the corruption is in the shard holding ana (and then in the file naming it).
        let file = try f.fileHolding("ana")
        let original = try XCTUnwrap(f.readFile(file))
        let text = String(decoding: original, as: UTF8.self)
        var corruptions: [(String, String, String)] = [
            ("garbage appended", file, text + "garbage\n"),
            ("truncated", file, String(text.dropLast(5))),
            ("bad header", file, "pwdir-directory 9\n" + text.split(separator: "\n", maxSplits: 1)[1]),
            ("corrupt line of the user", file, text.replacingFirst("uid=ana\t", with: "uid=ana\tbroken\t")),
            ("empty", file, ""),
        ]
        if format == 2 {
            let manifest = String(decoding: try XCTUnwrap(f.readFile(f.db)), as: UTF8.self)
            corruptions += [
                ("manifest truncated", f.db, String(manifest.dropLast(5))),
                ("manifest naming a shard file of a later generation", f.db, manifest.replacingFirst("\n" + (file as NSString).lastPathComponent + "\n", with: "\n\((file as NSString).lastPathComponent)9\n")),
            ]
        }
        for (name, path, content) in corruptions {
            let before = try XCTUnwrap(f.readFile(path))
            try f.writeFile(path, content)
            XCTAssertNotEqual(Array(content.utf8), before, "\(name) changes something")
            for hook in ["authenticate", "acct_mgmt", "chauthtok"] {
                let c = try f.client("ana", answers: [good, newPassword, newPassword])
                let rc = hook == "authenticate" ? c.authenticate() : hook == "acct_mgmt" ? c.acctMgmt() : c.chauthtok()
                XCTAssertEqual(rc, PAM_AUTHINFO_UNAVAIL, "format \(format), \(name): \(hook)")
            }
            XCTAssertEqual(String(decoding: f.readFile(path) ?? [], as: UTF8.self), content, "\(name): file untouched")
            try f.writeFile(path, String(decoding: before, as: UTF8.self))
        }
        unlink(f.db)
        XCTAssertEqual(try f.client("ana", answers: [good]).authenticate(), PAM_AUTHINFO_UNAVAIL, "missing directory")
        XCTAssertEqual(try f.client("ana").acctMgmt(), PAM_AUTHINFO_UNAVAIL)
    }

    func testUnsafeDirectoryAndBadSettingsFailClosed() throws {
        let f = try fixtureWithUsers()
        chmod(f.db, 0o666)
        XCTAssertEqual(try f.client("ana", answers: [good]).authenticate(), PAM_AUTHINFO_UNAVAIL, "world-writable directory")
        chmod(f.db, 0o600)
        try f.writeFile(f.config, "deny = lots\n")
        XCTAssertEqual(try f.client("ana", answers: [good]).authenticate(), PAM_AUTHINFO_UNAVAIL, "malformed settings")
        try f.writeFile(f.config, "some_future_key = 1\n")
        XCTAssertEqual(try f.client("ana", answers: [good]).authenticate(), PAM_SUCCESS, "unknown keys are ignored")
    }

    /// Unknown, locked (by hand or by failures) and wrong-password attempts cost the same:
    /// one yescrypt hash and one tally write each.
    func testLockedUnknownAndWrongPasswordTakeTheSameTime() throws {
        let f = try PamFixture(settings: "deny = 64\n")
        try f.addUser("ana", password: good)
        try f.addUser("di", password: good, locked: true)
        try f.addUser("fay", password: good)
        try f.setTally("fay", Tally(failures: [1], lockedTime: 1))
        var times: [String: [UInt64]] = [:]
        for _ in 0..<9 {
            for user in ["ana", "nobody", "di", "fay"] {
                let c = try f.client(user, answers: [user == "ana" ? "not the password" : good])
                let t0 = monotonicNow()
                let rc = c.authenticate()
                times[user, default: []].append(monotonicNow() - t0)
                XCTAssertNotEqual(rc, PAM_SUCCESS)
            }
        }
        let wrong = median(times["ana"]!)
        for (user, what) in [("nobody", "unknown"), ("di", "locked by hand"), ("fay", "locked by failures")] {
            let ratio = median(times[user]!) / wrong
            XCTAssertEqual(ratio, 1.0, accuracy: 0.25, "\(what)/wrong = \(ratio)")
        }
    }

    /// Parallel failed logins are all counted; parallel right logins never lock anyone.
    func testParallelLoginsAreAllCounted() throws {
        let f = try PamFixture(settings: "deny = 64\n")
        try f.addUser("ana", password: good)
        let failures = ManagedCounter()
        DispatchQueue.concurrentPerform(iterations: 30) { _ in
            if let c = try? f.client("ana", answers: ["wrong"]), c.authenticate() == PAM_AUTH_ERR { failures.add() }
        }
        XCTAssertEqual(failures.value, 30)
        XCTAssertEqual(try f.tally("ana").failures.count, 30, "every parallel failure counted")

        let g = try PamFixture(settings: "deny = 3\n")
        try g.addUser("bo", password: good)
        let successes = ManagedCounter()
        let right = good
        DispatchQueue.concurrentPerform(iterations: 30) { _ in
            if let c = try? g.client("bo", answers: [right]), c.authenticate() == PAM_SUCCESS { successes.add() }
        }
        XCTAssertEqual(successes.value, 30)
        XCTAssertTrue(try g.tally("bo").isEmpty)
        XCTAssertEqual(try g.client("bo", answers: [good]).authenticate(), PAM_SUCCESS)
    }

    /// The account is read after the password is typed: an administrator's reset or lock, or
    /// failures that lock it, made while the user sits at the prompt, all count.
    func testWhatHappensWhileTheUserTypesCounts() throws {
        let f = try PamFixture(settings: "deny = 3\n")
        try f.addUser("ana", password: good)
        let reset = try f.client("ana", answers: [good])
        reset.whilePrompted = { _ in
            let hash = try! Yescrypt.hashNew(SecretBytes(Array("Reset-By-Admin-99".utf8)), cost: 5)
            try! f.directory.update { (records) throws(PwdirError) in records[0].setPassword(hash: hash, now: systemNow(), mustChange: true) }
        }
        XCTAssertEqual(reset.authenticate(), PAM_AUTH_ERR, "the old password stops working at once")

        try f.addUser("bo", password: good)
        let locked = try f.client("bo", answers: [good])
        locked.whilePrompted = { _ in
            for _ in 0..<3 { _ = try? f.client("bo", answers: ["wrong"]).authenticate() }
        }
        XCTAssertEqual(locked.authenticate(), PAM_MAXTRIES, "a lock made meanwhile holds; a success does not erase it")
        XCTAssertNotNil(try f.tally("bo").lockedTime)

        try f.addUser("cy", password: good)
        let adminLocked = try f.client("cy", answers: [good])
        adminLocked.whilePrompted = { _ in
            try! f.directory.update { (records) throws(PwdirError) in
                let i = records.firstIndex { $0.login == "cy" }!
                records[i][UserRecord.Key.lockedTime] = UserRecord.adminLockValue
            }
        }
        XCTAssertEqual(adminLocked.authenticate(), PAM_PERM_DENIED)
    }

    func testLockoutThroughLibpam() throws {
        let f = try PamFixture(settings: "deny = 3\n")
        try f.addUser("ana", password: good)
        for _ in 0..<3 { XCTAssertEqual(try f.client("ana", answers: ["wrong"]).authenticate(), PAM_AUTH_ERR) }
        let locked = try f.client("ana", answers: [good])
        XCTAssertEqual(locked.authenticate(), PAM_MAXTRIES)
        XCTAssertEqual(locked.errors, [ModuleLogic.lockedMessage])
        XCTAssertEqual(try f.client("ana").acctMgmt(), PAM_PERM_DENIED, "acct_mgmt refuses too (key-based logins)")
        try f.setTally("ana", Tally())
        XCTAssertEqual(try f.client("ana", answers: [good]).authenticate(), PAM_SUCCESS)
    }
}

final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return replacingCharacters(in: r, with: replacement)
    }
}
