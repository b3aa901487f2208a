import PwdirCore
import PwdirMail
import PwdirTestSupport
import XCTest

/// PRODUCT.md "Mail recipients": the recovery email if set, else the email unless it is marked
/// no-mailbox; a user with neither gets a clear error.
final class RecipientsTests: XCTestCase {
    func user(mail: String? = nil, recovery: String? = nil, noMailbox: Bool = false) -> UserRecord {
        var r = UserRecord(login: "ana")
        r.mail = mail
        r.recoveryMail = recovery
        r.hasNoMailbox = noMailbox
        return r
    }

    func testRecipientRules() {
        XCTAssertEqual(user(mail: "ana@corp.example").mailRecipient, "ana@corp.example")
        XCTAssertEqual(user(mail: "ana@corp.example", recovery: "ana@home.example").mailRecipient, "ana@home.example", "the recovery address wins")
        XCTAssertEqual(user(recovery: "ana@home.example").mailRecipient, "ana@home.example")
        XCTAssertEqual(user(mail: "ana@fict.example", recovery: "ana@home.example", noMailbox: true).mailRecipient, "ana@home.example")
        XCTAssertNil(user(mail: "ana@fict.example", noMailbox: true).mailRecipient, "never to a no-mailbox email")
        XCTAssertNil(user().mailRecipient)
        XCTAssertNil(user(noMailbox: true).mailRecipient)
        XCTAssertNil(user(mail: "", recovery: "").mailRecipient, "empty values are no address")
        XCTAssertEqual(user(mail: "ana@corp.example", recovery: "").mailRecipient, "ana@corp.example")
    }

    func testRequireMailRecipientExplains() throws {
        XCTAssertEqual(try user(mail: "ana@corp.example").requireMailRecipient(), "ana@corp.example")
        XCTAssertEqual(try user(mail: "ana@fict.example", recovery: "ana@home.example", noMailbox: true).requireMailRecipient(), "ana@home.example")

        let fictitious = caught { () throws(PwdirError) in try user(mail: "ana@fict.example", noMailbox: true).requireMailRecipient() }
        guard case let .invalidValue(field, reason)? = fictitious else { return XCTFail("no error for a no-mailbox user") }
        XCTAssertEqual(field, "recipient")
        XCTAssertTrue(reason.contains("no mailbox") && reason.contains("--recovery-email"), reason)
        XCTAssertEqual(fictitious?.exitStatus, 2)

        let nothing = caught { () throws(PwdirError) in try user().requireMailRecipient() }
        guard case let .invalidValue(_, reason2)? = nothing else { return XCTFail("no error for a user without address") }
        XCTAssertTrue(reason2.contains("no email and no recovery email") && reason2.contains("pwdir user modify ana --recovery-email"), reason2)
    }

    func testNoMailboxAndLanguageAttributes() {
        var r = UserRecord(login: "ana")
        XCTAssertFalse(r.hasNoMailbox)
        r.hasNoMailbox = true
        XCTAssertEqual(r[UserRecord.Key.noMailbox], "TRUE")
        XCTAssertTrue(r.hasNoMailbox)
        r.hasNoMailbox = false
        XCTAssertNil(r[UserRecord.Key.noMailbox], "false is stored as no attribute")
        r[UserRecord.Key.noMailbox] = "yes"
        XCTAssertFalse(r.hasNoMailbox, "only TRUE marks a fictitious email")

        XCTAssertNil(r.language)
        r.language = .fr
        XCTAssertEqual(r[UserRecord.Key.language], "fr")
        XCTAssertEqual(r.language, .fr)
        r[UserRecord.Key.language] = "de"
        XCTAssertNil(r.language, "an unknown language is none (the default applies)")
        r.language = nil
        XCTAssertNil(r[UserRecord.Key.language])
    }

    func testMaskedAddresses() {
        XCTAssertEqual(MailAddress.masked("nadia@example.org"), "n***@example.org")
        XCTAssertEqual(MailAddress.masked("a@b.c"), "a***@b.c")
        XCTAssertEqual(MailAddress.masked("first.last+tag@mail.example.co.uk"), "f***@mail.example.co.uk")
        XCTAssertEqual(MailAddress.masked("a@b@c.example"), "a***@c.example", "the domain is after the last @")
        XCTAssertEqual(MailAddress.masked("@example.org"), "***")
        XCTAssertEqual(MailAddress.masked("nobody"), "***")
        XCTAssertEqual(MailAddress.masked(""), "***")
        for address in ["nadia@example.org", "secret.person@corp.example"] {
            let local = address.split(separator: "@")[0]
            XCTAssertFalse(MailAddress.masked(address).contains(local.dropFirst()), "the local part leaks")
        }
    }
}
