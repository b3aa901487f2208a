import Foundation
import PwdirCore
import PwdirMail
import PwdirTestSupport
import XCTest

/// `Mailer`: rendering for a user, and how the mail command's outcome becomes an error. The
/// "mail command" here is /bin/sh writing its stdin to a file or failing on purpose: this checks
/// the spawn and error mapping only. Delivery through a real MTA client and SMTP server is
/// proven end to end in Tests/e2e/mail.sh (msmtp + aiosmtpd).
final class MailerTests: XCTestCase {
    func settings(_ sendmail: [String], timeout: Int = 5, templates: String? = nil, lang: MailLanguage = .en) -> Settings {
        var s = Settings()
        s.sendmail = sendmail
        s.mailFrom = "pwdir@example.org"
        s.mailTimeout = timeout
        s.templatesDir = templates
        s.lang = lang
        return s
    }

    func zoe() -> UserRecord {
        var r = UserRecord(login: "zoe")
        r.fullName = "Zoé Étienne"
        r.mail = "zoe@fict.example"
        r.hasNoMailbox = true
        r.recoveryMail = "zoe@home.example"
        r.language = .fr
        return r
    }

    /// The message on stdin is addressed to the user's recipient, in the user's language.
    func testSendRendersForTheUserAndPipesTheMessage() throws {
        let dir = try makeTempFolder()
        let out = dir + "/message"
        let mailer = Mailer(settings: settings(["/bin/sh", "-c", "cat >\"$0\"", out]), host: "vm.example")
        let to = try mailer.send(.credentials, to: zoe(), values: ["password": "Xy7Kp9Qr2Ab4", "must_change": true], now: 0)
        XCTAssertEqual(to, "zoe@home.example")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        let (headers, body) = try XCTUnwrap(MailDecode.split(bytes))
        XCTAssertEqual(MailDecode.header("To", in: headers), "zoe@home.example")
        XCTAssertEqual(MailDecode.header("From", in: headers), "pwdir@example.org")
        let subject = try XCTUnwrap(MailDecode.encodedWords(try XCTUnwrap(MailDecode.header("Subject", in: headers))))
        XCTAssertEqual(String(decoding: subject.flatMap { $0.bytes }, as: UTF8.self), "Vos accès à vm.example")
        let text = String(decoding: try XCTUnwrap(MailDecode.quotedPrintable(body)), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("Bonjour Zoé Étienne,\r\n"), text)
        XCTAssertTrue(text.contains("Identifiant :             zoe\r\n"), text)
        XCTAssertTrue(text.contains("Mot de passe temporaire : Xy7Kp9Qr2Ab4\r\n"), text)
    }

    /// The user's language wins over `lang`; without one, `lang` applies; without a full name,
    /// the login greets.
    func testLanguageFallbackAndFullNameFallback() throws {
        let dir = try makeTempFolder()
        let out = dir + "/message"
        var ana = UserRecord(login: "ana")
        ana.mail = "ana@corp.example"
        let mailer = Mailer(settings: settings(["/bin/sh", "-c", "cat >\"$0\"", out], lang: .fr), host: "vm")
        try mailer.send(.credentials, to: ana, values: ["password": "p", "must_change": false], now: 0)
        var text = String(decoding: try MailDecode.quotedPrintable(XCTUnwrap(MailDecode.split([UInt8](Data(contentsOf: URL(fileURLWithPath: out))))).body)!, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("Bonjour ana,"), text)
        ana.language = .en
        try mailer.send(.credentials, to: ana, values: ["password": "p", "must_change": false], now: 0)
        text = String(decoding: try MailDecode.quotedPrintable(XCTUnwrap(MailDecode.split([UInt8](Data(contentsOf: URL(fileURLWithPath: out))))).body)!, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("Hello ana,"), text)
    }

    func testNoRecipientNothingRun() throws {
        let dir = try makeTempFolder()
        let marker = dir + "/ran"
        var ghost = UserRecord(login: "ghost")
        ghost.mail = "ghost@fict.example"
        ghost.hasNoMailbox = true
        let mailer = Mailer(settings: settings(["/bin/sh", "-c", "touch \"$0\"", marker]), host: "vm")
        let error = caught { () throws(PwdirError) in try mailer.send(.credentials, to: ghost, values: [:], now: 0) }
        guard case let .invalidValue(field, _)? = error else { return XCTFail("sent to a no-mailbox user") }
        XCTAssertEqual(field, "recipient")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the mail command ran")
    }

    func testFailingCommandSaysWhatTheMTASaid() {
        let mailer = Mailer(settings: settings(["/bin/sh", "-c", "cat >/dev/null; echo '550 5.1.1 mailbox unavailable' >&2; exit 1"]), host: "vm")
        let error = caught { () throws(PwdirError) in
            try mailer.deliver(MailMessage(from: "pwdir@example.org", to: "ana@corp.example", subject: "s", body: "b"), now: 0)
        }
        guard case let .mail(reason)? = error else { return XCTFail("no mail error: \(String(describing: error))") }
        XCTAssertEqual(reason, "/bin/sh exited with status 1: 550 5.1.1 mailbox unavailable")
        XCTAssertEqual(error?.exitStatus, 7)
        XCTAssertFalse(error!.message.contains("\n"))
    }

    func testTimeoutAndSignalReported() {
        let slow = Mailer(settings: settings(["/bin/sleep", "30"], timeout: 1), host: "vm")
        let start = (Double(monotonicNanoseconds()) / 1e9)
        let error = caught { () throws(PwdirError) in
            try slow.deliver(MailMessage(from: "pwdir@example.org", to: "ana@corp.example", subject: "s", body: "b"), now: 0)
        }
        XCTAssertLessThan((Double(monotonicNanoseconds()) / 1e9) - start, 2.5)
        guard case let .mail(reason)? = error else { return XCTFail("a hung mail command was not an error") }
        XCTAssertTrue(reason.contains("did not finish within 1 s") && reason.contains("mail_timeout"), reason)

        let killed = Mailer(settings: settings(["/bin/sh", "-c", "kill -KILL $$"]), host: "vm")
        let error2 = caught { () throws(PwdirError) in
            try killed.deliver(MailMessage(from: "pwdir@example.org", to: "ana@corp.example", subject: "s", body: "b"), now: 0)
        }
        guard case let .mail(reason2)? = error2 else { return XCTFail("a killed mail command was not an error") }
        XCTAssertTrue(reason2.contains("killed by signal 9"), reason2)
    }

    /// An invalid message never reaches the command.
    func testInvalidMessageNotHandedOver() throws {
        let dir = try makeTempFolder()
        let marker = dir + "/ran"
        let mailer = Mailer(settings: settings(["/bin/sh", "-c", "touch \"$0\"", marker]), host: "vm")
        XCTAssertThrowsError(try mailer.deliver(MailMessage(from: "pwdir@example.org", to: "a@b.example\r\nBcc: x@y.example", subject: "s", body: "b"), now: 0))
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }
}
