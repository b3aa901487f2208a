import PwdirCore
import PwdirMail
import XCTest

final class MailMessageTests: XCTestCase {
    func testHeadersAndEncodedSubject() throws {
        let m = MailMessage(from: "pwdir@example.org", to: "zoe@corp.example", subject: "Vos accès à hôte", body: "Bonjour Zoé\nligne 2")
        let text = String(decoding: try m.encoded(date: 0, host: "vm", messageID: "x@vm"), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("Date: Thu, 1 Jan 1970 00:00:00 +0000\r\nMessage-ID: <x@vm>\r\nFrom: pwdir@example.org\r\nTo: zoe@corp.example\r\nSubject: =?utf-8?B?"))
        XCTAssertTrue(text.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"))
        XCTAssertTrue(text.contains("Bonjour Zo=C3=A9\r\nligne 2"))
    }

    func testHeaderInjectionIsImpossible() {
        for to in ["a@b.example\r\nBcc: x@y.example", "a@b.example\nBcc: x@y.example", "<a@b.example>", "a b@c.example"] {
            XCTAssertThrowsError(try MailMessage(from: "p@example.org", to: to, subject: "s", body: "b").encoded(date: 0, host: "h"), to.debugDescription)
        }
        XCTAssertThrowsError(try MailMessage(from: "p@example.org", to: "a@b.example", subject: "hi\r\nBcc: x@y.example", body: "b").encoded(date: 0, host: "h"))
    }
}
