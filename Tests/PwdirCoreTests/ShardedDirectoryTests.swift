#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PwdirCore
import PwdirTestSupport
import XCTest

/// The directory of format 2 (`users` naming 256 shard files in `users.d/`) on real files: what
/// a change writes, what it leaves, what a reader checks, and the migration from format 1.
final class ShardedDirectoryTests: XCTestCase {
    func newDirectory(format: Int = 2) throws -> DirectoryFile {
        let dir = DirectoryFile(path: try makeTempFolder() + "/users")
        try dir.create(format: format)
        return dir
    }

    func manifest(_ dir: DirectoryFile) throws -> DirectoryManifest {
        try DirectoryManifest.decode(XCTUnwrap(readFile(dir.path)), path: dir.path)
    }

    func shardFile(_ dir: DirectoryFile, of login: String) throws -> String {
        dir.shardFolderPath + "/" + (try manifest(dir)).files[DirectoryManifest.shard(of: login)]
    }

    func shardFiles(_ dir: DirectoryFile) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: dir.shardFolderPath)) ?? [])
    }

    // MARK: Layout

    func testANewDirectoryIsFormat2WithAnEmptyShardEach() throws {
        let dir = try newDirectory()
        XCTAssertEqual(try dir.format(), 2)
        let m = try manifest(dir)
        XCTAssertEqual(m.generation, 1)
        XCTAssertEqual(m.files.count, 256)
        XCTAssertEqual(shardFiles(dir), Set(m.files))
        XCTAssertEqual(modeOf(dir.shardFolderPath), 0o700)
        for (k, name) in m.files.enumerated() where k % 37 == 0 {
            XCTAssertEqual(readFile(dir.shardFolderPath + "/" + name), Array((DirectoryManifest.shardHeader(k) + "\n#end users=0\n").utf8))
            XCTAssertEqual(modeOf(dir.shardFolderPath + "/" + name), 0o600)
        }
        XCTAssertEqual(try dir.load(), [])
        XCTAssertNil(try dir.lookup("ana"))
        XCTAssertFalse(exists(dir.backupPath))
    }

    func testLoginsThatDifferOnlyInCaseShareAShard() {
        XCTAssertEqual(DirectoryManifest.shard(of: "Ana.Lopez"), DirectoryManifest.shard(of: "ana.lopez"))
        XCTAssertEqual(DirectoryManifest.shard(of: "BOB_2"), DirectoryManifest.shard(of: "bob_2"))
        let spread = Set((0..<10_000).map { DirectoryManifest.shard(of: "user\($0)") })
        XCTAssertEqual(spread.count, 256, "10,000 logins reach every shard")
    }

    func testTheManifestIsParsedStrictly() throws {
        let good = DirectoryManifest.initial.encode()
        XCTAssertEqual(try DirectoryManifest.decode(good, path: "m"), .initial)
        let text = String(decoding: good, as: UTF8.self)
        let bad: [(String, Int)] = [
            (text.replacingOccurrences(of: "generation=1\n", with: "generation=01\n"), 2),
            (text.replacingOccurrences(of: "\n07.1\n", with: "\n08.1\n"), 10),
            (text.replacingOccurrences(of: "\n07.1\n", with: "\n07.2\n"), 10),  // later than the generation
            (text.replacingOccurrences(of: "\n07.1\n", with: "\n07.1\n07.1\n"), 11),
            (String(text.dropLast()), 259),
            (text + "extra\n", 260),
            (text.replacingOccurrences(of: "#end shards=256", with: "#end shards=255"), 259),
        ]
        for (content, line) in bad {
            let error = caught { () throws(PwdirError) in _ = try DirectoryManifest.decode(Array(content.utf8), path: "m") }
            guard case let .directoryCorrupt(_, at, _)? = error else { XCTFail("accepted: \(content.prefix(40))"); continue }
            XCTAssertEqual(at, line, "\(String(describing: error))")
        }
    }

    // MARK: Changes

    func testAChangeRewritesOneShardAndKeepsThePreviousVersionWhole() throws {
        let dir = try newDirectory()
        try add("ana", to: dir)
        try add("bo", to: dir)
        let before = try manifest(dir)
        let untouched = try shardFile(dir, of: "bo")
        let inode = lstatOf(untouched)?.st_ino
        let store = FileAccountStore(path: dir.path)
        try store.update("ana") { (r) throws(PwdirError) in r[UserRecord.Key.fullName] = "Ana Lopez" }
        let after = try manifest(dir)
        XCTAssertEqual(after.generation, before.generation + 1)
        XCTAssertEqual(zip(before.files, after.files).filter { $0 != $1 }.count, 1, "one shard rewritten")
        if DirectoryManifest.shard(of: "ana") != DirectoryManifest.shard(of: "bo") {
            XCTAssertEqual(lstatOf(untouched)?.st_ino, inode, "bo's shard is not rewritten")
        }
        // users- is the version before, and every shard it names is still there.
        XCTAssertEqual(try DirectoryManifest.decode(XCTUnwrap(readFile(dir.backupPath)), path: dir.backupPath), before)
        XCTAssertTrue(Set(before.files).isSubset(of: shardFiles(dir)))
        // Nothing else: the shards of older versions are gone.
        XCTAssertEqual(shardFiles(dir), Set(before.files).union(after.files))
        XCTAssertEqual(try dir.lookup("ana")?[UserRecord.Key.fullName], "Ana Lopez")
        XCTAssertEqual(try dir.load().map(\.login), ["ana", "bo"])
    }

    func testAddRefusesACaseTwinAndRemoveFindsATeamInAnyShard() throws {
        let dir = try newDirectory()
        let store = FileAccountStore(path: dir.path)
        try store.add(UserRecord(login: "ana"), now: 1_800_000_000)
        XCTAssertEqual(caught { () throws(PwdirError) in try store.add(UserRecord(login: "ANA"), now: 1_800_000_000) }, .userExists("ana"))
        var member = UserRecord(login: "zz-member")
        member[UserRecord.Key.manager] = "ana"
        XCTAssertNotEqual(DirectoryManifest.shard(of: "zz-member"), DirectoryManifest.shard(of: "ana"))
        try store.add(member, now: 1_800_000_000)
        let refused = caught { () throws(PwdirError) in try store.remove("ana") }
        XCTAssertTrue(refused?.message.contains("zz-member") ?? false, "\(String(describing: refused))")
        XCTAssertEqual(try dir.load().map(\.login), ["ana", "zz-member"])
    }

    func testAFailedChangeLeavesEveryFileAsItWas() throws {
        let dir = try newDirectory()
        try add("ana", to: dir)
        let files = shardFiles(dir)
        let users = readFile(dir.path)
        let error = caught { () throws(PwdirError) in
            try dir.update { (records) throws(PwdirError) in
                records.append(UserRecord(login: "bo"))
                throw .invalidValue(field: "test", reason: "refused")
            }
        }
        XCTAssertNotNil(error)
        // A stale shard file of the next generation (a writer killed before its commit) is
        // replaced by the next writer and never read.
        let m = try manifest(dir)
        let stale = dir.shardFolderPath + "/" + DirectoryManifest.fileName(shard: DirectoryManifest.shard(of: "cy"), generation: m.generation + 1)
        try writeFile(stale, Array("garbage\n".utf8))
        XCTAssertEqual(readFile(dir.path), users)
        XCTAssertEqual(shardFiles(dir), files.union([(stale as NSString).lastPathComponent]))
        try add("cy", to: dir)
        XCTAssertEqual(try dir.load().map(\.login), ["ana", "cy"])
        XCTAssertFalse(exists(dir.tempPath))
    }

    func testUpdateAllWritesOnlyTheShardsThatChanged() throws {
        let dir = try newDirectory()
        try dir.update { (records) throws(PwdirError) in records = (0..<1000).map { UserRecord(login: "u\($0)") } }
        let before = try manifest(dir)
        XCTAssertEqual(before.generation, 2)
        try dir.update { (records) throws(PwdirError) in
            let i = records.firstIndex { $0.login == "u500" }!
            records[i][UserRecord.Key.fullName] = "Five Hundred"
        }
        let after = try manifest(dir)
        XCTAssertEqual(zip(before.files, after.files).filter { $0 != $1 }.count, 1)
        XCTAssertEqual(try dir.lookup("u500")?[UserRecord.Key.fullName], "Five Hundred")
        XCTAssertEqual(try dir.load().count, 1000)
    }

    func testAWriteOfManyUsersOnTwoThreadsIsTheSameAsOnOne() throws {
        let n = DirectoryFile.usersForTwoThreads + 1234
        let records = (0..<n).map { UserRecord(login: "emp\($0)", attributes: [.init("cn", "Employé \($0)"), .init("mail", "e\($0)@x.example")]) }
        let two = try newDirectory(), one = try newDirectory()
        try two.update { (all) throws(PwdirError) in all = records }
        try one.update { (all) throws(PwdirError) in all = Array(records.prefix(DirectoryFile.usersForTwoThreads - 1)) }
        try one.update { (all) throws(PwdirError) in all = records }  // only the ~5% of shards that changed: one thread
        for (a, b) in zip(try manifest(two).files, try manifest(one).files) {
            XCTAssertEqual(readFile(two.shardFolderPath + "/" + a), readFile(one.shardFolderPath + "/" + b), a)
        }
        XCTAssertEqual(try two.load().map(\.login), records.map(\.login).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        XCTAssertEqual(try two.lookup("emp20001")?["mail"], "e20001@x.example")
    }

    func testAFailedShardOnTwoThreadsLeavesTheDirectoryAsItWas() throws {
        let dir = try newDirectory()
        try dir.update { (all) throws(PwdirError) in all = [UserRecord(login: "ana")] }
        let before = try manifest(dir), files = shardFiles(dir)
        // The next generation's file of one shard cannot be written: a folder with a file in it.
        let blocked = dir.shardFolderPath + "/" + DirectoryManifest.fileName(shard: 201, generation: before.generation + 1)
        try FileManager.default.createDirectory(atPath: blocked + "/in-the-way", withIntermediateDirectories: true)
        let many = (0..<(DirectoryFile.usersForTwoThreads * 2)).map { UserRecord(login: "u\($0)") }
        XCTAssertThrowsError(try dir.update { (all) throws(PwdirError) in all += many })
        XCTAssertEqual(try manifest(dir), before)
        XCTAssertEqual(shardFiles(dir), files.union([blocked.split(separator: "/").last.map(String.init)!]), "every shard written is removed")
        XCTAssertEqual(try dir.load().map(\.login), ["ana"])
    }

    // MARK: Reading

    func testForEachRecordMergesTheShardsInLoginOrderAndSkipsByNeedle() throws {
        let dir = try newDirectory()
        let logins = (0..<3000).map { "user\($0)" } + ["Zed", "ana", "mo.b"]
        try dir.update { (records) throws(PwdirError) in
            records = logins.map { UserRecord(login: $0, attributes: [.init("cn", "Name \($0)")]) }
            records.append(UserRecord(login: "eve", attributes: [.init("cn", "Ève Dupont")]))
        }
        var seen: [String] = []
        try dir.forEachRecord { (r) throws(PwdirError) in seen.append(r.login) }
        XCTAssertEqual(seen, (logins + ["eve"]).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        var found: [String] = []
        try dir.forEachRecord(containing: "MO.B") { (r) throws(PwdirError) in found.append(r.login) }
        // The needle is only a hint: the non-ASCII line is always passed on, the caller filters.
        XCTAssertEqual(Set(found), ["mo.b", "eve"])
    }

    func testAShardChangedByHandIsCheckedWholeBeforeItIsSearched() throws {
        let dir = try newDirectory()
        try add("ana", to: dir)
        let file = try shardFile(dir, of: "ana")
        let text = String(decoding: try XCTUnwrap(readFile(file)), as: UTF8.self)
        // A login of another shard, put here by hand (far from ana, out of the search's way).
        var stranger = "a"
        while DirectoryManifest.shard(of: stranger) == DirectoryManifest.shard(of: "ana") { stranger += "a" }
        try writeFile(file, Array(text.replacingOccurrences(of: "#end users=1", with: "uid=\(stranger)\n#end users=2").utf8))
        let error = caught { () throws(PwdirError) in _ = try dir.lookup("ana") }
        guard case let .directoryCorrupt(path, line, reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(path, file)
        XCTAssertEqual(line, 3)
        XCTAssertTrue(reason.contains("belongs in shard"), reason)
        XCTAssertNotNil(caught { () throws(PwdirError) in _ = try dir.load() })
    }

    func testAMissingShardFileIsNamedInTheError() throws {
        let dir = try newDirectory()
        try add("ana", to: dir)
        let file = try shardFile(dir, of: "ana")
        XCTAssertEqual(unlink(file), 0)
        let error = caught { () throws(PwdirError) in _ = try dir.lookup("ana") }
        guard case let .directoryCorrupt(path, line, reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(path, dir.path)
        XCTAssertEqual(line, DirectoryManifest.shard(of: "ana") + 3)
        XCTAssertTrue(reason.contains(file), reason)
    }

    func testAShardFolderOthersMayWriteIsRefused() throws {
        let dir = try newDirectory()
        try add("ana", to: dir)
        XCTAssertEqual(chmod(dir.shardFolderPath, 0o777), 0)
        guard case .unsafeFile? = caught({ () throws(PwdirError) in _ = try dir.lookup("ana") }) else { return XCTFail("a folder anyone may write is used") }
        XCTAssertEqual(chmod(dir.shardFolderPath, 0o700), 0)
        XCTAssertEqual(try dir.lookup("ana")?.login, "ana")
    }

    // MARK: Migration

    func testMigrateTurnsFormat1IntoFormat2InOneStep() throws {
        let dir = try newDirectory(format: 1)
        try dir.update { (records) throws(PwdirError) in
            records = (0..<500).map { UserRecord(login: "u\($0)", attributes: [.init("mail", "u\($0)@example.org")]) }
        }
        let old = try dir.load()
        let oldBytes = readFile(dir.path)
        XCTAssertEqual(try dir.format(), 1)
        XCTAssertEqual(try dir.migrate(), 500)
        XCTAssertEqual(try dir.format(), 2)
        XCTAssertEqual(try dir.load(), old)
        XCTAssertEqual(readFile(dir.backupPath), oldBytes, "the format-1 file stays as users-")
        XCTAssertEqual(try dir.lookup("u250")?[UserRecord.Key.mail], "u250@example.org")
        XCTAssertNil(try dir.migrate(), "a second migration does nothing")
        XCTAssertEqual(try manifest(dir).generation, 1)
    }

    func testMigrateRefusesACorruptFormat1FileAndChangesNothing() throws {
        let dir = try newDirectory(format: 1)
        try add("ana", to: dir)
        let text = String(decoding: try XCTUnwrap(readFile(dir.path)), as: UTF8.self)
        let broken = Array(text.replacingOccurrences(of: "#end users=1", with: "#end users=2").utf8)
        try writeFile(dir.path, broken)
        guard case .directoryCorrupt? = caught({ () throws(PwdirError) in _ = try dir.migrate() }) else { return XCTFail("migrated a corrupt file") }
        XCTAssertEqual(readFile(dir.path), broken)
        XCTAssertEqual(shardFiles(dir), [], "no shard left behind")
    }
}
