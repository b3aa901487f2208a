#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PwdirCore
import PwdirTestSupport
import XCTest

/// Adds one user through the update recipe.
func add(_ login: String, to dir: DirectoryFile) throws(PwdirError) {
    try dir.update { (records) throws(PwdirError) in
        records.append(UserRecord(login: login, attributes: [.init("cn", "User \(login)")]))
        records.sort { $0.login.utf8.lexicographicallyPrecedes($1.login.utf8) }
    }
}

/// `DirectoryFile`: create, load, lookup and the one update recipe, on real files.
final class DirectoryFileTests: XCTestCase {
    func newDirectory() throws -> DirectoryFile {
        DirectoryFile(path: try makeTempFolder() + "/users")
    }

    func testPathsOfTheCompanionFiles() {
        let d = DirectoryFile(path: "/var/lib/pwdir/users")
        XCTAssertEqual(d.lockPath, "/var/lib/pwdir/users.lock")
        XCTAssertEqual(d.tempPath, "/var/lib/pwdir/users+")
        XCTAssertEqual(d.backupPath, "/var/lib/pwdir/users-")
        XCTAssertEqual(d.lockTimeoutMilliseconds, 15_000)
    }

    // MARK: create

    func testCreateMakesAnEmptyDirectoryWithMode0600WhateverTheUmask() throws {
        let dir = try newDirectory()
        XCTAssertFalse(dir.exists)
        let old = umask(0)
        defer { umask(old) }
        try dir.create(format: 1)
        XCTAssertTrue(dir.exists)
        XCTAssertEqual(modeOf(dir.path), 0o600)
        XCTAssertEqual(lstatOf(dir.path).map { $0.st_mode & S_IFMT }, S_IFREG)
        XCTAssertEqual(readFile(dir.path), DirectoryCodec.encode([]))
        XCTAssertEqual(try dir.load(), [])
        XCTAssertNil(try dir.lookup("ana"))
        XCTAssertFalse(exists(dir.tempPath))
        XCTAssertFalse(exists(dir.backupPath))
        XCTAssertEqual(modeOf(dir.lockPath), 0o600)
    }

    func testCreateRefusesToOverwrite() throws {
        let dir = try newDirectory()
        try writeDirectory(dir.path, [UserRecord(login: "ana")])
        let before = readFile(dir.path)
        XCTAssertEqual(caught { () throws(PwdirError) in try dir.create(format: 1) }, .directoryExists(dir.path))
        XCTAssertEqual(readFile(dir.path), before)
        // even an empty file, or a dangling symbolic link, is not replaced
        try writeFile(dir.path, [])
        XCTAssertEqual(caught { () throws(PwdirError) in try dir.create(format: 1) }, .directoryExists(dir.path))
        XCTAssertEqual(readFile(dir.path), [])
        let other = DirectoryFile(path: FilePathText.folder(of: dir.path) + "/link")
        let target = FilePathText.folder(of: dir.path) + "/target"
        XCTAssertEqual(symlink(target, other.path), 0)
        XCTAssertEqual(caught { () throws(PwdirError) in try other.create(format: 1) }, .directoryExists(other.path))
        XCTAssertFalse(exists(target), "nothing written through the link")
    }

    func testCreateInMissingFolder() throws {
        let folder = try makeTempFolder()
        let dir = DirectoryFile(path: folder + "/no/such/folder/users")
        let error = caught { () throws(PwdirError) in try dir.create(format: 1) }
        guard case let .folderMissing(missing)? = error, missing == FilePathText.folder(of: dir.path) else {
            return XCTFail("expected an error naming the missing folder, got \(String(describing: error))")
        }
        XCTAssertFalse(exists(FilePathText.folder(of: dir.path)), "no folder is made")
    }

    // MARK: load and lookup

    func testLoadAndLookupOfMissingDirectory() throws {
        let dir = try newDirectory()
        XCTAssertEqual(caught { () throws(PwdirError) in try dir.load() }, .directoryMissing(dir.path))
        XCTAssertEqual(caught { () throws(PwdirError) in try dir.lookup("ana") }, .directoryMissing(dir.path))
        XCTAssertEqual(caught { () throws(PwdirError) in try add("ana", to: dir) }, .directoryMissing(dir.path))
        XCTAssertFalse(exists(dir.path), "update does not create the directory")
    }

    func testLoadAndLookupReadWhatWasWritten() throws {
        let dir = try newDirectory()
        let records = (0..<300).map { UserRecord(login: "user\($0)", attributes: [.init("cn", "N\t\($0)"), .init("mail", "u\($0)@example.org")]) }
        try writeDirectory(dir.path, records)
        XCTAssertEqual(try dir.load(), sortedByLogin(records))
        for r in records { XCTAssertEqual(try dir.lookup(r.login), r) }
        XCTAssertNil(try dir.lookup("user300"))
        XCTAssertNil(try dir.lookup("nobody"))
    }

    func testEmptyFileIsCorruptForLoadAndLookup() throws {
        let dir = try newDirectory()
        try writeFile(dir.path, [])
        guard case .directoryCorrupt(dir.path, 1, _)? = caught({ () throws(PwdirError) in try dir.load() }) else { return XCTFail("load") }
        guard case .directoryCorrupt(dir.path, 1, _)? = caught({ () throws(PwdirError) in try dir.lookup("a") }) else { return XCTFail("lookup") }
    }

    func testLoadReportsCorruptLine() throws {
        let dir = try newDirectory()
        try writeFile(dir.path, bytes(testHeader + "uid=a\nuid=b\tcn\n#end users=2\n"))
        guard case .directoryCorrupt(dir.path, 3, _)? = caught({ () throws(PwdirError) in try dir.load() }) else { return XCTFail() }
        guard case .directoryCorrupt(dir.path, 3, _)? = caught({ () throws(PwdirError) in try dir.lookup("b") }) else { return XCTFail() }
    }

    // MARK: Unsafe files

    func assertUnsafe(_ body: () throws(PwdirError) -> Void, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard case .unsafeFile? = caught(body) else {
            XCTFail("\(what) should be refused as unsafe, got \(String(describing: caught(body)))", file: file, line: line)
            return
        }
    }

    func testSymbolicLinkIsRefused() throws {
        let folder = try makeTempFolder()
        let real = DirectoryFile(path: folder + "/real")
        try writeDirectory(real.path, [UserRecord(login: "ana")])
        let before = readFile(real.path)
        XCTAssertEqual(symlink(real.path, folder + "/users"), 0)
        let dir = DirectoryFile(path: folder + "/users")
        assertUnsafe({ () throws(PwdirError) in _ = try dir.load() }, "load through a link")
        assertUnsafe({ () throws(PwdirError) in _ = try dir.lookup("ana") }, "lookup through a link")
        assertUnsafe({ () throws(PwdirError) in try add("bo", to: dir) }, "update through a link")
        XCTAssertEqual(readFile(real.path), before)
        XCTAssertEqual(lstatOf(dir.path).map { $0.st_mode & S_IFMT }, S_IFLNK, "the link is still a link")
    }

    func testGroupOrWorldWritableDirectoryIsRefused() throws {
        let dir = try newDirectory()
        try dir.create(format: 1)
        try add("ana", to: dir)
        let before = readFile(dir.path)
        for mode: mode_t in [0o620, 0o660, 0o602, 0o666, 0o622] {
            XCTAssertEqual(chmod(dir.path, mode), 0)
            assertUnsafe({ () throws(PwdirError) in _ = try dir.load() }, "load of mode \(String(mode, radix: 8))")
            assertUnsafe({ () throws(PwdirError) in _ = try dir.lookup("ana") }, "lookup of mode \(String(mode, radix: 8))")
            assertUnsafe({ () throws(PwdirError) in try add("bo", to: dir) }, "update of mode \(String(mode, radix: 8))")
            XCTAssertEqual(readFile(dir.path), before)
            XCTAssertEqual(modeOf(dir.path), Int(mode), "left as it was")
        }
        XCTAssertEqual(chmod(dir.path, 0o600), 0)
        XCTAssertEqual(try dir.lookup("ana")?.login, "ana")
    }

    func testGroupWritableLockFileIsRefused() throws {
        let dir = try newDirectory()
        try dir.create(format: 1)
        XCTAssertEqual(chmod(dir.lockPath, 0o660), 0)
        assertUnsafe({ () throws(PwdirError) in try add("bo", to: dir) }, "update with a group-writable lock file")
        XCTAssertEqual(try dir.load(), [])
    }

    func testFolderInsteadOfFileIsRefused() throws {
        let dir = try newDirectory()
        XCTAssertEqual(mkdir(dir.path, 0o700), 0)
        assertUnsafe({ () throws(PwdirError) in _ = try dir.load() }, "load of a folder")
        assertUnsafe({ () throws(PwdirError) in _ = try dir.lookup("a") }, "lookup of a folder")
    }

    // MARK: update

    func testUpdateKeepsThePreviousVersionAndLeavesNoTempFile() throws {
        let dir = try newDirectory()
        try dir.create(format: 1)
        let v0 = readFile(dir.path)
        try add("ana", to: dir)
        let v1 = readFile(dir.path)
        XCTAssertEqual(readFile(dir.backupPath), v0, "users- holds the version before the update")
        XCTAssertEqual(try dir.load().map(\.login), ["ana"])
        XCTAssertFalse(exists(dir.tempPath))
        XCTAssertEqual(modeOf(dir.path), 0o600)
        try add("bo", to: dir)
        XCTAssertEqual(readFile(dir.backupPath), v1)
        XCTAssertEqual(try dir.load().map(\.login), ["ana", "bo"])
        XCTAssertEqual(try DirectoryCodec.decode(readFile(dir.backupPath) ?? [], path: dir.backupPath).map(\.login), ["ana"])
        XCTAssertFalse(exists(dir.tempPath))
        XCTAssertEqual(modeOf(dir.path), 0o600)
        XCTAssertEqual(modeOf(dir.backupPath), 0o600)
    }

    func testUpdateReturnsTheClosuresResultAndRewritesInSortedForm() throws {
        let dir = try newDirectory()
        try dir.create(format: 1)
        let n = try dir.update { (records) throws(PwdirError) -> Int in
            records = [UserRecord(login: "zed"), UserRecord(login: "ana"), UserRecord(login: "mo")]
            return 42
        }
        XCTAssertEqual(n, 42)
        XCTAssertEqual(try dir.load().map(\.login), ["ana", "mo", "zed"])
    }

    func testUpdateWithoutChangeWritesNothing() throws {
        let dir = try newDirectory()
        try dir.create(format: 1)
        try add("ana", to: dir)
        XCTAssertEqual(unlink(dir.backupPath), 0)
        let before = lstatOf(dir.path)!
        let seen = try dir.update { (records) throws(PwdirError) -> Int in records.count }
        XCTAssertEqual(seen, 1)
        let after = lstatOf(dir.path)!
        XCTAssertEqual(after.st_ino, before.st_ino, "the file was not replaced")
        XCTAssertFalse(exists(dir.backupPath))
        XCTAssertFalse(exists(dir.tempPath))
    }

    func testUpdateWhoseClosureThrowsLeavesTheFileByteIdentical() throws {
        let dir = try newDirectory()
        try writeDirectory(dir.path, (0..<50).map { UserRecord(login: "u\($0)", attributes: [.init("cn", "\($0)")]) })
        let before = readFile(dir.path)
        let inode = lstatOf(dir.path)!.st_ino
        let error = caught { () throws(PwdirError) in
            try dir.update { (records) throws(PwdirError) in
                records.removeAll()
                records.append(UserRecord(login: "intruder"))
                throw .userExists("intruder")
            }
        }
        XCTAssertEqual(error, .userExists("intruder"), "the closure's error comes out unchanged")
        XCTAssertEqual(readFile(dir.path), before)
        XCTAssertEqual(lstatOf(dir.path)!.st_ino, inode)
        XCTAssertFalse(exists(dir.tempPath))
        XCTAssertFalse(exists(dir.backupPath))
        // and the lock was released: the next writer gets through at once
        var quick = dir
        quick.lockTimeoutMilliseconds = 100
        try add("next", to: quick)
        XCTAssertEqual(try dir.load().count, 51)
    }

    func testUpdateOnCorruptFileThrowsAndLeavesItByteIdentical() throws {
        let dir = try newDirectory()
        let corruptions = [
            testHeader + "uid=a\nuid=b\tcn=%G1\nuid=c\n#end users=3\n",
            testHeader + "uid=a\nuid=b\n#end users=3\n",
            testHeader + "uid=a\nuid=b\n",
            "pwdir-directory 2\n#end users=0\n",
            testHeader + "uid=b\nuid=a\n#end users=2\n",
        ]
        for text in corruptions {
            try writeFile(dir.path, bytes(text))
            var called = false
            let error = caught { () throws(PwdirError) in
                try dir.update { (records) throws(PwdirError) in
                    called = true
                    records.append(UserRecord(login: "zz"))
                }
            }
            guard case .directoryCorrupt(dir.path, _, _)? = error else {
                XCTFail("\(text.debugDescription): expected directoryCorrupt, got \(String(describing: error))")
                continue
            }
            XCTAssertFalse(called, "the change is never applied to a file that does not parse")
            XCTAssertEqual(readFile(dir.path), bytes(text))
            XCTAssertFalse(exists(dir.tempPath))
            XCTAssertFalse(exists(dir.backupPath))
        }
    }

    func testLeftoverTempFileFromAKilledWriterIsReplaced() throws {
        let dir = try newDirectory()
        try dir.create(format: 1)
        try writeFile(dir.tempPath, bytes("half a file"), mode: 0o644)
        try add("ana", to: dir)
        XCTAssertEqual(try dir.load().map(\.login), ["ana"])
        XCTAssertFalse(exists(dir.tempPath))
    }

    func testTempFileSymlinkIsNotFollowed() throws {
        let folder = try makeTempFolder()
        let dir = DirectoryFile(path: folder + "/users")
        try dir.create(format: 1)
        let victim = folder + "/victim"
        try writeFile(victim, bytes("precious\n"), mode: 0o644)
        XCTAssertEqual(symlink(victim, dir.tempPath), 0)
        try add("ana", to: dir)
        XCTAssertEqual(readFile(victim), bytes("precious\n"), "the writer never writes through users+")
        XCTAssertEqual(try dir.load().map(\.login), ["ana"])
    }

    // MARK: Locking

    /// Takes an exclusive (or shared) OFD lock on `path` through its own open file description.
    func holdLock(_ path: String, exclusive: Bool = true) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("open", path) }
        var fl = flock()
        fl.l_type = Int16(exclusive ? F_WRLCK : F_RDLCK)
        fl.l_whence = Int16(SEEK_SET)
        fl.l_start = 0
        fl.l_len = 0
        fl.l_pid = 0
        let F_OFD_SETLK: Int32 = 37
        guard fcntl(fd, F_OFD_SETLK, &fl) == 0 else {
            close(fd)
            throw SystemError("fcntl(F_OFD_SETLK)", path)
        }
        return fd
    }

    func testHeldLockGivesBusyAfterTheTimeout() throws {
        var dir = try newDirectory()
        try dir.create(format: 1)
        let before = readFile(dir.path)
        for exclusive in [true, false] {
            let fd = try holdLock(dir.lockPath, exclusive: exclusive)
            dir.lockTimeoutMilliseconds = 150
            let start = Date()
            let error = caught { () throws(PwdirError) in try add("ana", to: dir) }
            let waited = Date().timeIntervalSince(start)
            XCTAssertEqual(error, .busy(path: dir.path), "exclusive: \(exclusive)")
            XCTAssertGreaterThanOrEqual(waited, 0.14, "it waited for the lock")
            XCTAssertLessThan(waited, 5, "and gave up")
            XCTAssertEqual(error?.exitStatus, 6)
            XCTAssertEqual(readFile(dir.path), before, "nothing written")
            XCTAssertFalse(exists(dir.tempPath))
            // readers never wait for the lock
            XCTAssertEqual(try dir.load(), [])
            XCTAssertNil(try dir.lookup("ana"))
            XCTAssertEqual(caught { () throws(PwdirError) in try dir.create(format: 1) }, .busy(path: dir.path), "create takes the lock too")
            close(fd)
        }
        try add("ana", to: dir)
        XCTAssertEqual(try dir.load().map(\.login), ["ana"])
    }

    func testWriterWaitsForALockReleasedInTime() throws {
        var dir = try newDirectory()
        try dir.create(format: 1)
        let fd = try holdLock(dir.lockPath)
        dir.lockTimeoutMilliseconds = 5_000
        let release = DispatchWorkItem { close(fd) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2, execute: release)
        let start = Date()
        try add("ana", to: dir)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.15)
        XCTAssertEqual(try dir.load().map(\.login), ["ana"])
    }

    func testThreadsWritingAtOnceLoseNoUpdate() throws {
        let dir = try newDirectory()
        try dir.create(format: 1)
        let n = 24
        DispatchQueue.concurrentPerform(iterations: n) { i in
            _ = try? add("t\(i)", to: dir)
        }
        XCTAssertEqual(Set(try dir.load().map(\.login)), Set((0..<n).map { "t\($0)" }))
        XCTAssertFalse(exists(dir.tempPath))
    }
}
