import PwdirCore
import PwdirTestSupport
import XCTest

/// `LoginName.validate`: 1 to 64 of letters, digits, `.`, `_`, `-`, `@`, not starting with `-` or `.`.
final class LoginNameTests: XCTestCase {
    func testAcceptsTheContractsExamples() {
        let good = [
            "ana", "a", "A", "9", "_", "@", "a_b-c", "first.last@example.org", "Ana.Lopez", "a..b", "a-", "a.",
            "user123", "x@y", "@team", "_svc", String(repeating: "a", count: 64), String(repeating: "Z9._-@", count: 10) + "abcd",
        ]
        for name in good {
            XCTAssertNoThrow(try LoginName.validate(name), name)
            XCTAssertTrue(LoginName.isValid(name), name)
        }
        XCTAssertEqual(LoginName.maxLength, 64)
    }

    func testRefusesEverythingElseWithInvalidLogin() {
        let bad: [String] = [
            "", String(repeating: "a", count: 65), String(repeating: "é", count: 32),
            "-a", "-", ".a", ".", "..", "../etc", ".hidden",
            "a:b", "root:x", "a/b", "/", "a b", " a", "a ", "a\tb", "a\nb", "ana\n", "a\rb", "a\u{0}b", "\u{0}",
            "é", "ana\u{301}", "ａｎａ", "аna" /* Cyrillic а */, "a\u{200B}b", "😀",
            "a\\b", "a*", "a+b", "a%b", "a=b", "a#b", "a,b", "$a", "a'b", "a\"b", "a;b", "a|b", "a\u{7F}", "a~", "a!",
            "(a)", "a<b>", "a[0]", "a{b}", "a?", "a&b", "a^b", "`a`",
        ]
        for name in bad {
            let error = caught { () throws(PwdirError) in try LoginName.validate(name) }
            guard case let .invalidLogin(got, reason)? = error else {
                XCTFail("\(name.debugDescription) should be refused with invalidLogin, got \(String(describing: error))")
                continue
            }
            XCTAssertEqual(Array(got.utf8), Array(name.utf8), "the error names the login as given")
            XCTAssertFalse(reason.isEmpty)
            XCTAssertFalse(LoginName.isValid(name), name.debugDescription)
            XCTAssertEqual(error?.exitStatus, 2)
        }
    }

    func testReasonsSayWhatIsWrong() {
        func reason(_ name: String) -> String {
            guard case let .invalidLogin(_, r)? = caught({ () throws(PwdirError) in try LoginName.validate(name) }) else { return "<accepted>" }
            return r
        }
        XCTAssertTrue(reason("").contains("empty"))
        XCTAssertTrue(reason(String(repeating: "a", count: 65)).contains("longer than 64"))
        XCTAssertTrue(reason("-a").contains("starts with '-'"))
        XCTAssertTrue(reason(".a").contains("starts with '.'"))
        XCTAssertTrue(reason("a:b").contains("':'"))
        XCTAssertTrue(reason("a\nb").contains("0xa"))
        XCTAssertTrue(reason("a\u{0}b").contains("0x0"))
        XCTAssertTrue(reason("é").contains("0xc3"))
    }

    func testMessageIsOneLineEvenForHostileNames() {
        let error = caught { () throws(PwdirError) in try LoginName.validate("evil\nInjected: yes\r\u{1B}[2J") }
        XCTAssertNotNil(error)
        let message = error?.message ?? ""
        XCTAssertFalse(message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, message.debugDescription)
        XCTAssertTrue(message.hasPrefix("invalid login name"))
    }
}
