#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PwdirCore
import PwdirTestSupport
import XCTest

/// The update recipe across processes, with the built `pwdir` command as the other writers:
/// concurrent writers lose nothing, a writer killed at any instant leaves a whole directory.
final class DirectoryProcessTests: XCTestCase {
    func testSixteenProcessesAddingAtOnceLoseNothing() throws {
        let binary = try pwdirBinary()
        let folder = try makeTempFolder()
        let dir = DirectoryFile(path: folder + "/users")
        try dir.create()
        let n = 16
        let processes = (0..<n).map { pwdirProcess(binary, ["user", "add", "u\($0)", "--db", dir.path], folder: folder) }
        for (p, _) in processes { try p.run() }
        // meanwhile a reader keeps reading: it never waits, never sees a partial file, and the
        // number of users it sees never goes down
        var lastCount = 0
        repeat {
            let count = try dir.load().count
            XCTAssertGreaterThanOrEqual(count, lastCount)
            lastCount = count
        } while processes.contains(where: { $0.0.isRunning })
        for (i, (p, err)) in processes.enumerated() {
            p.waitUntilExit()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertEqual(p.terminationStatus, 0, "pwdir user add u\(i): \(stderr)")
        }
        let logins = try dir.load().map(\.login)
        XCTAssertEqual(Set(logins), Set((0..<n).map { "u\($0)" }), "every concurrent add is in the directory")
        XCTAssertEqual(logins.count, n)
        XCTAssertFalse(exists(dir.tempPath))
    }

    func testWriterKilledAtAnyInstantLeavesOldOrNewDirectoryWhole() throws {
        let binary = try pwdirBinary()
        let folder = try makeTempFolder()
        let dir = DirectoryFile(path: folder + "/users")
        let records = (0..<50_000).map { i in
            UserRecord(login: "user" + String(1_000_000 + i), attributes: [
                .init("cn", "Employee number \(i)"), .init("mail", "user\(i)@example.org"),
                .init("userPassword", "{CRYPT}" + YescryptTests.libxcryptVector), .init("pwdChangedTime", "20240229123456Z"),
            ])
        }
        try writeDirectory(dir.path, records)
        // One add, left to finish, says how long a writer runs here: with 50,000 users most of
        // it is parsing and encoding, so kills after 0–40 ms alone would all land before the
        // temp file is even opened. So runs 0–4 are killed after 0–40 ms, runs 5–11 at a random
        // instant of a whole run, and runs 12–19 0–60 ms after users+ appears (while it is
        // written, fsynced, linked, renamed).
        let started = Date()
        let (warmup, warmupErr) = pwdirProcess(binary, ["user", "add", "warmup", "--db", dir.path], folder: folder)
        try warmup.run()
        warmup.waitUntilExit()
        XCTAssertEqual(warmup.terminationStatus, 0, String(decoding: warmupErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        let fullRunMs = max(40, Int(Date().timeIntervalSince(started) * 1000))
        var count = records.count + 1
        let seed: UInt64 = 0xC0FFEE
        var rng = SeededGenerator(seed: seed)
        var killedBefore = 0, killedAfter = 0, finished = 0, killedWritingTemp = 0
        for i in 0..<20 {
            let login = "x\(i)"
            let (p, _) = pwdirProcess(binary, ["user", "add", login, "--db", dir.path], folder: folder)
            let delayMs = i < 5 ? Int.random(in: 0...40, using: &rng) : Int.random(in: 0...(fullRunMs * 11 / 10), using: &rng)
            let targetTemp = i >= 12
            if targetTemp { _ = unlink(dir.tempPath) }  // a leftover from an earlier kill; no writer runs now
            try p.run()
            if targetTemp {
                while p.isRunning && !exists(dir.tempPath) { usleep(100) }
                usleep(UInt32(Int.random(in: 0...60_000, using: &rng)))
            } else {
                usleep(UInt32(delayMs) * 1000)
            }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            if p.terminationReason == .exit {
                XCTAssertEqual(p.terminationStatus, 0, "run \(i) ended on its own but failed")
                finished += 1
            }

            let now: [UserRecord]
            do { now = try dir.load() } catch {
                XCTFail("seed \(seed) run \(i): the directory no longer loads after a kill: \(error)")
                return
            }
            XCTAssertTrue(now.count == count || now.count == count + 1, "run \(i): \(now.count) users, expected \(count) or \(count + 1)")
            let added = now.count == count + 1
            XCTAssertEqual(now.contains { $0.login == login }, added, "run \(i): the new user is there exactly when the count grew")
            if exists(dir.tempPath) { killedWritingTemp += 1 }  // killed while users+ was being written
            if added { killedAfter += p.terminationReason == .uncaughtSignal ? 1 : 0 } else { killedBefore += 1 }
            count = now.count
            XCTAssertEqual(try dir.lookup("user1000000")?.fullName, "Employee number 0")
            XCTAssertEqual(try dir.lookup("user1049999")?.fullName, "Employee number 49999")
            if testRun?.failureCount ?? 0 > 0 { return }
        }
        // whatever the kills left behind (users+, the lock file), the next writer gets through
        let (p, err) = pwdirProcess(binary, ["user", "add", "last", "--db", dir.path], folder: folder)
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        XCTAssertEqual(try dir.load().count, count + 1)
        XCTAssertFalse(exists(dir.tempPath))
        print("killed writer (a full add takes \(fullRunMs) ms): \(killedBefore) runs left the old directory (\(killedWritingTemp) of them while writing users+), \(killedAfter) were killed after the rename, \(finished) finished")
    }

    /// A corrupt trailer claiming 999,999,999 users is reported with its line, not trusted for
    /// an allocation: under a 4 GB address-space limit the command exits cleanly.
    func testHugeTrailerCountIsReportedNotAllocated() throws {
        let binary = try pwdirBinary()
        let folder = try makeTempFolder()
        let path = folder + "/users"
        func listUnderMemoryLimit() throws -> (Process, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "ulimit -v 4000000 && exec \"$0\" user list --db \"$1\" --config \"$2\"", binary, path, folder + "/none.conf"]
            p.standardOutput = FileHandle.nullDevice
            let err = Pipe()
            p.standardError = err
            try p.run()
            p.waitUntilExit()
            return (p, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        // control: under the same limit, a trailer that is merely wrong is a line-numbered error
        try writeFile(path, bytes(testHeader + "uid=a\n#end users=2\n"))
        let (control, controlErr) = try listUnderMemoryLimit()
        XCTAssertEqual(control.terminationReason, .exit, controlErr)
        XCTAssertEqual(control.terminationStatus, 5, controlErr)
        XCTAssertTrue(controlErr.contains("line 3:"), controlErr)

        try writeFile(path, bytes(testHeader + "uid=a\n#end users=999999999\n"))
        let (p, stderr) = try listUnderMemoryLimit()
        XCTAssertEqual(p.terminationReason, .exit, "pwdir died of signal \(p.terminationStatus) reading a corrupt trailer: \(stderr)")
        XCTAssertEqual(p.terminationStatus, 5, stderr)
        XCTAssertTrue(stderr.contains("line 3:"), stderr)
    }
}
