import PwdirCore
import PwdirTestSupport
import XCTest

/// `MailAddress.validate`: one plain `local@domain`, nothing that could inject a header.
final class MailAddressTests: XCTestCase {
    func testAcceptsPlainAddresses() {
        for a in ["ana@example.org", "first.last+tag@mail.example.co.uk", "a@b.c", "root@localhost", "x_y-z@sub-domain.example",
                  "'quote'@example.org", "{weird}@example.org", "a@b.c.", String(repeating: "a", count: 64) + "@" + String(repeating: "b", count: 185) + ".org"] {
            XCTAssertNoThrow(try MailAddress.validate(a, field: "--email"), a)
        }
    }

    func testRefusesWithInvalidValueNamingTheField() {
        let bad = [
            "", "ana", "@example.org", "ana@", "ana@example", "ana@@example.org", "a@b@example.org",
            "ana @example.org", "ana@ example.org", " ana@example.org", "ana@example.org ", "ana\t@example.org",
            "ana@example.org\nBcc: all@example.org", "ana@example.org\r\nBcc: x@y.z", "ana@example.org\u{0}", "ana\u{7F}@example.org",
            "Ana <ana@example.org>", "<ana@example.org>", "ana@example.org, bo@example.org", "ana@example.org;bo@example.org",
            "\"ana\"@example.org", "ana(comment)@example.org", "ana@[127.0.0.1]", "ana\\@example.org", "ana:x@example.org",
            "andré@example.org", "ana@exämple.org", "ana@example.org\u{2028}", "ана@example.org",
            String(repeating: "a", count: 64) + "@" + String(repeating: "b", count: 186) + ".org",
        ]
        for a in bad {
            let error = caught { () throws(PwdirError) in try MailAddress.validate(a, field: "--recovery-email") }
            guard case let .invalidValue(field, reason)? = error else {
                XCTFail("\(a.debugDescription) should be refused, got \(String(describing: error))")
                continue
            }
            XCTAssertEqual(field, "--recovery-email")
            XCTAssertFalse(reason.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "reason is one printable line: \(reason.debugDescription)")
            XCTAssertEqual(error?.exitStatus, 2)
        }
    }
}
