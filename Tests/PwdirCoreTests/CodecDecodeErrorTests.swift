import PwdirCore
import PwdirTestSupport
import XCTest

/// Strict decoding: every malformed file is a `.directoryCorrupt` naming the right line.
final class CodecDecodeErrorTests: XCTestCase {
    static let path = "/var/lib/pwdir/users"

    /// Decodes `data` and asserts a `.directoryCorrupt` at `line` whose reason mentions `reason`.
    func assertCorrupt(_ data: [UInt8], line: Int, reason: String, file: StaticString = #filePath, line testLine: UInt = #line) {
        let error = caught { () throws(PwdirError) in try DirectoryCodec.decode(data, path: Self.path) }
        guard case let .directoryCorrupt(path, gotLine, gotReason)? = error else {
            XCTFail("expected directoryCorrupt at line \(line), got \(String(describing: error)) for \(String(decoding: data, as: UTF8.self).debugDescription)", file: file, line: testLine)
            return
        }
        XCTAssertEqual(path, Self.path, file: file, line: testLine)
        XCTAssertEqual(gotLine, line, "line of the error (\(gotReason)) in \(String(decoding: data, as: UTF8.self).debugDescription)", file: file, line: testLine)
        XCTAssertTrue(gotReason.contains(reason), "reason '\(gotReason)' should mention '\(reason)'", file: file, line: testLine)
        // the command's message carries the line too
        XCTAssertTrue(error!.message.contains("line \(line):"), file: file, line: testLine)
        XCTAssertEqual(error!.exitStatus, 5, file: file, line: testLine)
    }

    func assertCorrupt(_ text: String, line: Int, reason: String, file: StaticString = #filePath, line testLine: UInt = #line) {
        assertCorrupt(bytes(text), line: line, reason: reason, file: file, line: testLine)
    }

    /// A file whose user lines are `lines` and whose trailer counts them.
    func file(_ lines: [String]) -> String {
        testHeader + lines.map { $0 + "\n" }.joined() + "#end users=\(lines.count)\n"
    }

    func testValidSmallFileDecodes() throws {
        let records = try DirectoryCodec.decode(bytes(file(["uid=a\tcn=A", "uid=b"])), path: Self.path)
        XCTAssertEqual(records, [UserRecord(login: "a", attributes: [.init("cn", "A")]), UserRecord(login: "b")])
    }

    // MARK: Header (line 1)

    func testEmptyFileIsLine1() {
        assertCorrupt([], line: 1, reason: "empty")
    }

    func testMissingOrWrongHeaderIsLine1() {
        assertCorrupt("uid=a\n#end users=1\n", line: 1, reason: "not a pwdir directory")
        assertCorrupt("\npwdir-directory 1\n#end users=0\n", line: 1, reason: "not a pwdir directory")
        assertCorrupt("PWDIR-DIRECTORY 1\n#end users=0\n", line: 1, reason: "not a pwdir directory")
        assertCorrupt("pwdir-directory\n#end users=0\n", line: 1, reason: "not a pwdir directory")
        assertCorrupt("root:x:0:0::/root:/bin/sh\n", line: 1, reason: "not a pwdir directory")
        assertCorrupt("pwdir-directory 1", line: 1, reason: "newline")  // header only, cut before its newline
    }

    func testOtherFormatVersionIsLine1() {
        assertCorrupt("pwdir-directory 2\n#end users=0\n", line: 1, reason: "format 'pwdir-directory 2'")
        assertCorrupt("pwdir-directory 10\n#end users=0\n", line: 1, reason: "is not one this pwdir reads")
        assertCorrupt("pwdir-directory 1 \n#end users=0\n", line: 1, reason: "is not one this pwdir reads")
        assertCorrupt("pwdir-directory 1\r\n#end users=0\n", line: 1, reason: "is not one this pwdir reads")
    }

    // MARK: End of file and trailer

    func testMissingTrailingNewlineNamesTheLastLine() {
        assertCorrupt(testHeader + "uid=a\n#end users=1", line: 3, reason: "does not end with a newline")
        assertCorrupt(testHeader + "uid=a\nuid=b\tcn=trunc", line: 3, reason: "does not end with a newline")
        assertCorrupt(testHeader + "#end users=0", line: 2, reason: "does not end with a newline")
    }

    func testMissingTrailerNamesTheLastLine() {
        assertCorrupt(testHeader + "uid=a\nuid=b\n", line: 3, reason: "the last line must be '#end users=N'")
        assertCorrupt(testHeader + "uid=a\n", line: 2, reason: "the last line must be '#end users=N'")
        // a file cut right after its header: the last line is the header itself
        assertCorrupt(testHeader, line: 1, reason: "the last line must be '#end users=N'")
    }

    func testMalformedTrailerNamesItsLine() {
        for trailer in ["#end users=", "#end users=x", "#end users=-1", "#end users=1 ", " #end users=1", "#end users=1\r",
                        "#END users=1", "#end users = 1", "#end users=1234567890", "#end"] {
            assertCorrupt(testHeader + "uid=a\n" + trailer + "\n", line: 3, reason: "the last line must be")
        }
    }

    func testWrongTrailerCountNamesTheTrailerLine() {
        assertCorrupt(testHeader + "uid=a\n#end users=2\n", line: 3, reason: "counts 2 users but the file holds 1")
        assertCorrupt(testHeader + "uid=a\nuid=b\n#end users=1\n", line: 4, reason: "counts 1 users but the file holds 2")
        assertCorrupt(testHeader + "uid=a\n#end users=0\n", line: 3, reason: "counts 0 users")
        assertCorrupt(testHeader + "#end users=3\n", line: 2, reason: "counts 3 users but the file holds 0")
    }

    func testLinesAppendedAfterTheTrailer() {
        assertCorrupt(testHeader + "uid=a\n#end users=1\nuid=b\n", line: 4, reason: "the last line must be")
        assertCorrupt(testHeader + "uid=a\n#end users=1\n\n", line: 4, reason: "the last line must be")
        // a second trailer appended: the first one is now a body line that is not a user
        assertCorrupt(testHeader + "uid=a\n#end users=1\n#end users=1\n", line: 3, reason: "must start with 'uid='")
        // a second directory appended after the first one
        assertCorrupt(file(["uid=a"]) + file(["uid=b"]), line: 3, reason: "must start with 'uid='")
    }

    // MARK: User lines

    func testLineWithoutUid() {
        assertCorrupt(file(["uid=a", "cn=x"]), line: 3, reason: "must start with 'uid='")
        assertCorrupt(file(["UID=a"]), line: 2, reason: "must start with 'uid='")
        assertCorrupt(file([" uid=a"]), line: 2, reason: "must start with 'uid='")
        assertCorrupt(file(["cn=x\tuid=a"]), line: 2, reason: "must start with 'uid='")
        assertCorrupt(file(["uid=a", ""]), line: 3, reason: "must start with 'uid='")  // an empty line
        assertCorrupt(file(["uid=a", "uid=b", "uid=c", "uid=d", "# comment"]), line: 6, reason: "must start with 'uid='")
    }

    func testBadLoginInUid() {
        for login in ["", "-a", ".a", "a b", "a/b", "a:b", "é", "a%41", "a=b", String(repeating: "a", count: 65), "a\rb"] {
            assertCorrupt(file(["uid=" + login]), line: 2, reason: "invalid login name")
        }
        assertCorrupt(file(["uid=ok", "uid=bad\u{7F}"]), line: 3, reason: "invalid login name")
        assertCorrupt(testHeader + "uid=" + "\n#end users=1\n", line: 2, reason: "it is empty")
    }

    func testLoginThatIsNotUTF8() {
        assertCorrupt(bytes(testHeader) + [0x75, 0x69, 0x64, 0x3D, 0xFF, 0x0A] + bytes("#end users=1\n"), line: 2, reason: "not valid UTF-8")
        assertCorrupt(bytes(testHeader + "uid=a\n") + [0x75, 0x69, 0x64, 0x3D, 0x62, 0xC3, 0x0A] + bytes("#end users=2\n"), line: 3, reason: "not valid UTF-8")
    }

    func testAttributeWithoutEquals() {
        assertCorrupt(file(["uid=a\tcn"]), line: 2, reason: "attribute without '='")
        assertCorrupt(file(["uid=a\t"]), line: 2, reason: "attribute without '='")  // trailing TAB
        assertCorrupt(file(["uid=a\tcn=x\t\tmail=y"]), line: 2, reason: "attribute without '='")  // empty field
        assertCorrupt(file(["uid=a", "uid=b\tcn=B\tmail"]), line: 3, reason: "attribute without '='")
    }

    func testBadAttributeName() {
        for name in ["", "1cn", "-cn", "c n", "c_n", "cé", "c.n", "c:n", "c%41", String(repeating: "a", count: 65), "{CRYPT}x"] {
            assertCorrupt(file(["uid=a\t\(name)=value"]), line: 2, reason: "bad attribute name")
        }
    }

    func testLongestAndOddButValidAttributeNamesAreAccepted() throws {
        for name in [String(repeating: "a", count: 64), "a", "Z9-", "x-", "A-1-b"] {
            let decoded = try DirectoryCodec.decode(bytes(file(["uid=a\t\(name)=v"])), path: Self.path)
            XCTAssertEqual(decoded.first?.attributes, [.init(name, "v")])
        }
    }

    func testDuplicateSingleValuedAttribute() {
        assertCorrupt(file(["uid=a\tcn=x\tcn=y"]), line: 2, reason: "attribute 'cn' appears twice")
        assertCorrupt(file(["uid=a\tcn=x\tmail=m\tcn=x"]), line: 2, reason: "attribute 'cn' appears twice")
        assertCorrupt(file(["uid=a\tuserPassword=1\tuserPassword=2"]), line: 2, reason: "appears twice")
        assertCorrupt(file(["uid=a\tunknownThing=1\tunknownThing=2"]), line: 2, reason: "appears twice")
        assertCorrupt(file(["uid=a\tuid=b"]), line: 2, reason: "'uid' appears twice")
        assertCorrupt(file(["uid=a", "uid=b\tpwdReset=TRUE\tpwdReset=TRUE"]), line: 3, reason: "appears twice")
    }

    func testRepeatedHistoryIsNotADuplicate() throws {
        let decoded = try DirectoryCodec.decode(bytes(file(["uid=a\tpwdHistory=1\tcn=A\tpwdHistory=2\tpwdHistory=1"])), path: Self.path)
        XCTAssertEqual(decoded.first?.values("pwdHistory"), ["1", "2", "1"])
    }

    func testBadPercentEscape() {
        for value in ["%G1", "%1G", "%4", "%", "abc%", "ab%4", "%%", "% 1", "%-1", "%+F", "%\u{E9}9"] {
            assertCorrupt(file(["uid=a\tcn=" + value]), line: 2, reason: "bad %-escape")
        }
        assertCorrupt(file(["uid=a", "uid=b\tcn=ok%41", "uid=c\tcn=%4"]), line: 4, reason: "bad %-escape")
    }

    func testLowerCaseHexIsAccepted() throws {
        let decoded = try DirectoryCodec.decode(bytes(file(["uid=a\tcn=%0a%3a%7f%c3%a9"])), path: Self.path)
        XCTAssertEqual(decoded.first?.fullName, "\n:\u{7F}é")
    }

    func testRawControlCharacterInValue() {
        for c: UInt8 in [0x00, 0x01, 0x0D, 0x1B, 0x1F, 0x7F] {
            let line = bytes("uid=a\tcn=x") + [c] + bytes("y\n")
            assertCorrupt(bytes(testHeader) + line + bytes("#end users=1\n"), line: 2, reason: "raw control character")
        }
        // CRLF line ends: the CR is a raw control character in the last value, or in the login
        assertCorrupt(testHeader + "uid=a\tcn=x\r\n#end users=1\n", line: 2, reason: "raw control character")
        assertCorrupt(testHeader + "uid=a\r\n#end users=1\n", line: 2, reason: "invalid login name")
        // a raw control byte next to a valid escape
        assertCorrupt(testHeader + "uid=a\tcn=%41\u{1}\n#end users=1\n", line: 2, reason: "raw control character")
    }

    func testInvalidUTF8InValue() {
        let bad: [[UInt8]] = [[0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE2, 0x82]]
        for b in bad {
            assertCorrupt(bytes(testHeader + "uid=a\tcn=x") + b + bytes("\n#end users=1\n"), line: 2, reason: "invalid UTF-8")
            // the same bytes written as escapes are just as invalid
            let escaped = b.map { "%" + String($0, radix: 16, uppercase: true) }.joined()
            assertCorrupt(file(["uid=a\tcn=" + escaped]), line: 2, reason: "invalid UTF-8")
        }
    }

    func testDuplicateLogin() {
        assertCorrupt(file(["uid=a", "uid=a"]), line: 3, reason: "login 'a' appears twice")
        assertCorrupt(file(["uid=a", "uid=b\tcn=1", "uid=b\tcn=2"]), line: 4, reason: "login 'b' appears twice")
    }

    func testOutOfOrderLogins() {
        assertCorrupt(file(["uid=b", "uid=a"]), line: 3, reason: "out of order")
        assertCorrupt(file(["uid=a", "uid=B"]), line: 3, reason: "out of order")  // 'B' (0x42) sorts before 'a'
        assertCorrupt(file(["uid=ab", "uid=a"]), line: 3, reason: "out of order")
        assertCorrupt(file(["uid=a", "uid=c", "uid=d", "uid=b"]), line: 5, reason: "out of order")
    }

    func testFirstErrorWinsAndCountsEveryLine() {
        // line 4 is bad, line 6 is bad too: the first one is reported
        assertCorrupt(file(["uid=a", "uid=b", "uid=c\tcn", "uid=d", "uid=e\t1x=1"]), line: 4, reason: "without '='")
        // a long file: the error on line 1002 is reported as line 1002
        let lines = (0..<1000).map { "uid=u" + String(100_000 + $0) } + ["uid=zz\tcn=%ZZ"]
        assertCorrupt(file(lines), line: 1002, reason: "bad %-escape")
    }
}
