import PwdirCore
import PwdirTestSupport
import XCTest

/// `DirectoryCodec.lookup`: binary search over the mapped file.
final class CodecLookupTests: XCTestCase {
    static let path = "/var/lib/pwdir/users"

    func lookup(_ login: String, in data: [UInt8]) throws(PwdirError) -> UserRecord? {
        try lookupIn(data, login, path: Self.path)
    }

    /// Users `u0000`, `u0002`, … (even numbers only, so the odd ones fall between two users).
    func directory(_ n: Int) -> (records: [UserRecord], bytes: [UInt8]) {
        let records = (0..<n).map { i -> UserRecord in
            let login = "u" + String(String(10_000 + 2 * i).dropFirst())
            return UserRecord(login: login, attributes: [.init("cn", "User \(i)\twith tab"), .init("mail", "\(login)@example.org"),
                                                         .init("pwdHistory", "h\(i)"), .init("pwdHistory", "g\(i)")])
        }
        return (records, DirectoryCodec.encode(records))
    }

    func assertFindsEveryone(_ n: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let (records, data) = directory(n)
        for r in records {
            let found = try lookup(r.login, in: data)
            XCTAssertEqual(found, r, "n=\(n) login \(r.login)", file: file, line: line)
            XCTAssertEqual(found?.fullName.map { Array($0.utf8) }, r.fullName.map { Array($0.utf8) }, file: file, line: line)
        }
        // absent: before the first, after the last, between two, prefixes and extensions
        var absent = ["", "a", "t", "u", "u0", "v", "zzz", "U0000", "@", "u9999", "u00000", "u0000\u{0}"]
        for i in 0..<n {
            absent.append("u" + String(String(10_000 + 2 * i + 1).dropFirst()))  // between i and i+1 (or after the last)
            absent.append("u" + String(String(10_000 + 2 * i).dropFirst()) + "a")  // an extension of a login
            absent.append(String(records[i].login.dropLast()))  // a prefix of a login
        }
        for login in absent where !records.contains(where: { $0.login == login }) {
            XCTAssertNil(try lookup(login, in: data), "n=\(n) should not find '\(login)'", file: file, line: line)
        }
    }

    func testEmptyDirectory() throws { try assertFindsEveryone(0) }
    func testOneUser() throws { try assertFindsEveryone(1) }
    func testTwoUsers() throws { try assertFindsEveryone(2) }
    func testThreeUsers() throws { try assertFindsEveryone(3) }
    func testFourAndFiveUsers() throws {
        try assertFindsEveryone(4)
        try assertFindsEveryone(5)
    }
    func testThousandUsers() throws { try assertFindsEveryone(1000) }

    func testFirstAndLastOfThousand() throws {
        let (records, data) = directory(1000)
        XCTAssertEqual(try lookup("u0000", in: data), records.first)
        XCTAssertEqual(try lookup("u1998", in: data), records.last)
        XCTAssertNil(try lookup("u1999", in: data))
        XCTAssertNil(try lookup("u", in: data))
    }

    func testLinesOfVeryDifferentLengths() throws {
        // binary search by byte offset must still land on line starts when lines vary wildly
        var rng = SeededGenerator(seed: 3)
        var records: [UserRecord] = []
        for i in 0..<200 {
            let size = [0, 1, 10, 5_000, 40][Int.random(in: 0..<5, using: &rng)]
            let attrs: [UserRecord.Attribute] = size == 0 ? [] : [.init("blob", String(repeating: "x\n%", count: size))]
            records.append(UserRecord(login: "user\(1000 + i)", attributes: attrs))
        }
        let data = DirectoryCodec.encode(records)
        for r in records { XCTAssertEqual(try lookup(r.login, in: data), r) }
        XCTAssertNil(try lookup("user0999", in: data))
        XCTAssertNil(try lookup("user1200", in: data))
        XCTAssertNil(try lookup("user1100x", in: data))
    }

    func testLookupAgreesWithDecodeOnRandomDirectories() throws {
        var rng = SeededGenerator(seed: 99)
        let chars = Array("ab.-_@9Z".utf8)
        for _ in 0..<200 {
            var logins: Set<String> = []
            for _ in 0..<Int.random(in: 0...30, using: &rng) {
                let n = Int.random(in: 1...4, using: &rng)
                var b = [UInt8(ascii: "a")]
                for _ in 0..<n { b.append(chars.randomElement(using: &rng)!) }
                logins.insert(String(decoding: b, as: UTF8.self))
            }
            let records = logins.map { UserRecord(login: $0, attributes: [.init("cn", $0)]) }
            let data = DirectoryCodec.encode(records)
            for probe in ["a", "aa", "ab", "a.", "a@9", "aZZZZ", "b", "aaaaa"] {
                XCTAssertEqual(try lookup(probe, in: data), records.first { $0.login == probe }, "probe \(probe) in \(logins.sorted())")
            }
        }
    }

    // MARK: Errors

    func assertLookupCorrupt(_ login: String, _ text: String, line: Int, reason: String, file: StaticString = #filePath, line testLine: UInt = #line) {
        let error = caught { () throws(PwdirError) in try lookup(login, in: bytes(text)) }
        guard case let .directoryCorrupt(path, gotLine, gotReason)? = error else {
            XCTFail("expected directoryCorrupt, got \(String(describing: error))", file: file, line: testLine)
            return
        }
        XCTAssertEqual(path, Self.path, file: file, line: testLine)
        XCTAssertEqual(gotLine, line, gotReason, file: file, line: testLine)
        XCTAssertTrue(gotReason.contains(reason), "'\(gotReason)' should mention '\(reason)'", file: file, line: testLine)
    }

    func testEmptyBufferThrows() {
        let error = caught { () throws(PwdirError) in try DirectoryCodec.lookup("a", in: UnsafeRawBufferPointer(start: nil, count: 0), path: Self.path) }
        guard case .directoryCorrupt(_, 1, _)? = error else { return XCTFail("got \(String(describing: error))") }
    }

    func testBadHeaderThrows() {
        assertLookupCorrupt("a", "pwdir-directory 2\nuid=a\n#end users=1\n", line: 1, reason: "format")
        assertLookupCorrupt("a", "hello\nuid=a\n#end users=1\n", line: 1, reason: "not a pwdir directory")
    }

    func testBadTrailerThrows() {
        assertLookupCorrupt("a", testHeader + "uid=a\nuid=b\n", line: 3, reason: "the last line must be")
        assertLookupCorrupt("a", testHeader + "uid=a\n#end users=1\nuid=z\n", line: 4, reason: "the last line must be")
        assertLookupCorrupt("a", testHeader + "uid=a\n#end users=1", line: 3, reason: "newline")
    }

    func testCorruptProbedLineThrows() {
        // one user: the only line is probed
        assertLookupCorrupt("a", testHeader + "xid=a\n#end users=1\n", line: 2, reason: "must start with 'uid='")
        assertLookupCorrupt("zzz", testHeader + "cn=a\n#end users=1\n", line: 2, reason: "must start with 'uid='")
        // three lines of equal length: the middle one is probed first
        assertLookupCorrupt("c", testHeader + "uid=a\nxid=b\nuid=c\n#end users=3\n", line: 3, reason: "must start with 'uid='")
        assertLookupCorrupt("a", testHeader + "uid=a\n\nuid=c\n#end users=3\n", line: 3, reason: "must start with 'uid='")
    }

    func testCorruptAttributesOfTheFoundLineThrow() {
        assertLookupCorrupt("a", testHeader + "uid=a\tcn\n#end users=1\n", line: 2, reason: "attribute without '='")
        assertLookupCorrupt("b", testHeader + "uid=a\nuid=b\tcn=%G1\nuid=c\n#end users=3\n", line: 3, reason: "bad %-escape")
        assertLookupCorrupt("b", testHeader + "uid=a\nuid=b\tcn=1\tcn=2\nuid=c\n#end users=3\n", line: 3, reason: "appears twice")
        assertLookupCorrupt("b", testHeader + "uid=a\nuid=b\tcn=x\u{1}\nuid=c\n#end users=3\n", line: 3, reason: "raw control character")
    }
}
