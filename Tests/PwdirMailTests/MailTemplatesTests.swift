import Foundation
import PwdirCore
import PwdirMail
import PwdirTestSupport
import XCTest

final class MailTemplatesTests: XCTestCase {
    let values: [String: Any] = [
        "login": "zoe", "full_name": "Zoé Étienne", "password": "Xy7Kp9Qr2Ab4", "code": "483920",
        "host": "vm.example", "expires": "2026-11-21 18:20 UTC", "must_change": true,
        "uri": "otpauth://totp/vm.example:zoe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=vm.example&digits=6&period=30",
        "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "issuer": "vm.example",
    ]

    /// Every built-in mail in every language: a one-line subject, a body, every placeholder filled.
    func testEveryBuiltInRendersWithAllPlaceholders() throws {
        let templates = MailTemplates(directory: nil)
        for template in MailTemplate.allCases {
            for language in MailLanguage.allCases {
                let mail = try templates.render(template, language: language, values: values)
                let what = "\(template.rawValue).\(language.rawValue)"
                XCTAssertFalse(mail.subject.isEmpty, what)
                XCTAssertFalse(mail.subject.contains("\n"), what)
                XCTAssertTrue(mail.subject.contains("vm.example"), "\(what) subject: \(mail.subject)")
                XCTAssertFalse(mail.body.isEmpty, what)
                for text in [mail.subject, mail.body] {
                    XCTAssertFalse(text.contains("{{") || text.contains("}}"), "\(what) leaves a placeholder: \(text)")
                }
                XCTAssertTrue(mail.body.contains("Zoé Étienne"), what)
                XCTAssertTrue(mail.body.contains("zoe"), what)
                XCTAssertFalse(mail.body.hasPrefix("\n"), "\(what) body starts with an empty line")
                switch template {
                case .credentials:
                    XCTAssertTrue(mail.body.contains("Xy7Kp9Qr2Ab4"), what)
                    XCTAssertTrue(mail.body.contains("2026-11-21 18:20 UTC"), what)
                case .recoveryCode:
                    XCTAssertTrue(mail.body.contains("483920"), what)
                    XCTAssertTrue(mail.body.contains("2026-11-21 18:20 UTC"), what)
                case .passwordChanged:
                    XCTAssertFalse(mail.body.contains("Xy7Kp9Qr2Ab4"), "\(what) must not carry a password")
                case .totpEnrolment:
                    XCTAssertTrue(mail.body.contains("\n    otpauth://totp/vm.example:zoe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=vm.example&digits=6&period=30\n"), what)
                    XCTAssertTrue(mail.body.contains("vm.example:zoe"), what)
                    XCTAssertFalse(mail.body.contains("Xy7Kp9Qr2Ab4"), "\(what) must not carry a password")
                }
            }
        }
    }

    func testCredentialsEnglishText() throws {
        let mail = try MailTemplates(directory: nil).render(.credentials, language: .en, values: values)
        XCTAssertEqual(mail.subject, "Your account on vm.example")
        XCTAssertTrue(mail.body.hasPrefix("Hello Zoé Étienne,\n"), mail.body)
        XCTAssertTrue(mail.body.contains("\n    Login:              zoe\n    Temporary password: Xy7Kp9Qr2Ab4\n"), mail.body)
        XCTAssertTrue(mail.body.contains("You will be asked to choose your own password when you first log in."))
        XCTAssertTrue(mail.body.contains("This temporary password stops working on 2026-11-21 18:20 UTC if it is not used."))
    }

    func testCredentialsFrenchText() throws {
        let mail = try MailTemplates(directory: nil).render(.credentials, language: .fr, values: values)
        XCTAssertEqual(mail.subject, "Vos accès à vm.example")
        XCTAssertTrue(mail.body.hasPrefix("Bonjour Zoé Étienne,\n"), mail.body)
        XCTAssertTrue(mail.body.contains("Voici comment vous connecter à vm.example :"))
        XCTAssertTrue(mail.body.contains("\n    Identifiant :             zoe\n    Mot de passe temporaire : Xy7Kp9Qr2Ab4\n"), mail.body)
        XCTAssertTrue(mail.body.contains("Vous devrez choisir votre propre mot de passe à la première connexion."))
        XCTAssertTrue(mail.body.contains("Si vous n'attendiez pas ce message, prévenez votre administrateur."), "no HTML escaping of the apostrophe")
    }

    /// The {{#must_change}} and {{#expires}} sections vanish, lines and all, when absent.
    func testSectionsVanishWhenFalse() throws {
        var v = values
        v["must_change"] = false
        v.removeValue(forKey: "expires")
        let en = try MailTemplates(directory: nil).render(.credentials, language: .en, values: v)
        XCTAssertFalse(en.body.contains("choose your own password"))
        XCTAssertFalse(en.body.contains("stops working"))
        // (cosmetic) with both sections gone, no run of two empty lines is left behind
        XCTAssertFalse(en.body.contains("\n\n\n"), "a removed section leaves empty lines: \(en.body.debugDescription)")
        let fr = try MailTemplates(directory: nil).render(.credentials, language: .fr, values: v)
        XCTAssertFalse(fr.body.contains("Vous devrez"))
        XCTAssertFalse(fr.body.contains("ne fonctionnera plus"))
    }

    /// Mail is plain text: `<&>"'` in a value arrive as they are, in the subject and the body,
    /// with {{…}} as with {{{…}}}.
    func testNoHTMLEscaping() throws {
        var v = values
        v["full_name"] = "Ana <&> O'Brien \"Q\""
        v["password"] = "p<a>&s\"s'w=d"
        for language in MailLanguage.allCases {
            let mail = try MailTemplates(directory: nil).render(.credentials, language: language, values: v)
            XCTAssertTrue(mail.body.contains("Ana <&> O'Brien \"Q\""), mail.body)
            XCTAssertTrue(mail.body.contains("p<a>&s\"s'w=d"), mail.body)
            XCTAssertFalse(mail.body.contains("&amp;") || mail.body.contains("&lt;") || mail.body.contains("&quot;") || mail.body.contains("&#39;"), mail.body)
        }
        let dir = try makeTempFolder()
        try "Subject: Hi {{full_name}}\n\n{{full_name}}|{{{full_name}}}|{{&full_name}}|{{password}}\n".write(toFile: dir + "/credentials.en.mustache", atomically: true, encoding: .utf8)
        let mail = try MailTemplates(directory: dir).render(.credentials, language: .en, values: v)
        XCTAssertEqual(mail.subject, "Hi Ana <&> O'Brien \"Q\"")
        XCTAssertEqual(mail.body, "Ana <&> O'Brien \"Q\"|Ana <&> O'Brien \"Q\"|Ana <&> O'Brien \"Q\"|p<a>&s\"s'w=d\n")
    }

    /// A value is never rendered again as a template.
    func testValuesAreNotTemplates() throws {
        var v = values
        v["full_name"] = "{{password}} {{#must_change}}x{{/must_change}}"
        let mail = try MailTemplates(directory: nil).render(.credentials, language: .en, values: v)
        XCTAssertTrue(mail.body.contains("Hello {{password}} {{#must_change}}x{{/must_change}},"), mail.body)
        XCTAssertEqual(mail.body.components(separatedBy: "Xy7Kp9Qr2Ab4").count, 2, "the password appears once")
    }

    /// templates_dir/NAME.LANG.mustache replaces that one mail only; CRLF files are accepted.
    func testOverrideDirectory() throws {
        let dir = try makeTempFolder()
        try "Subject: Welcome, {{full_name}}, to {{host}}\n\nlogin={{login}}\nname={{full_name}}\npassword={{password}}\nhost={{host}}\nexpires={{expires}}\n{{#must_change}}change it{{/must_change}}\n"
            .write(toFile: dir + "/credentials.en.mustache", atomically: true, encoding: .utf8)
        try "Subject: Code {{code}}\r\n\r\nCode: {{code}}\r\nJusqu'au {{expires}}\r\n".write(toFile: dir + "/recovery-code.fr.mustache", atomically: true, encoding: .utf8)
        let templates = MailTemplates(directory: dir)

        let en = try templates.render(.credentials, language: .en, values: values)
        XCTAssertEqual(en.subject, "Welcome, Zoé Étienne, to vm.example")
        XCTAssertEqual(en.body, "login=zoe\nname=Zoé Étienne\npassword=Xy7Kp9Qr2Ab4\nhost=vm.example\nexpires=2026-11-21 18:20 UTC\nchange it\n")

        let code = try templates.render(.recoveryCode, language: .fr, values: values)
        XCTAssertEqual(code.subject, "Code 483920")
        XCTAssertEqual(code.body, "Code: 483920\nJusqu'au 2026-11-21 18:20 UTC\n")

        // no file for these: the built-in ones
        XCTAssertEqual(try templates.render(.credentials, language: .fr, values: values).subject, "Vos accès à vm.example")
        XCTAssertEqual(try templates.render(.recoveryCode, language: .en, values: values).subject, "Your password recovery code for vm.example")
        // a missing directory is no directory
        XCTAssertEqual(try MailTemplates(directory: dir + "/nope").render(.credentials, language: .en, values: values).subject, "Your account on vm.example")
    }

    func testTemplateWithoutSubjectRefused() throws {
        let dir = try makeTempFolder()
        let bad = [
            "Hello {{full_name}}\n\nYour password: {{password}}\n",  // no Subject line
            "Subject: hi\nno empty line after the subject",          // no empty line
            "X-Subject: hi\n\nbody",
            "Subject: one\ntwo\n\nbody",                              // subject on two lines
            "Subject: {{#must_change}}\n\nbody",                       // does not parse
        ]
        for text in bad {
            try text.write(toFile: dir + "/credentials.en.mustache", atomically: true, encoding: .utf8)
            let error = caught { () throws(PwdirError) in
                try MailTemplates(directory: dir).render(.credentials, language: .en, values: values)
            }
            guard case let .invalidValue(field, reason)? = error else {
                XCTFail("template \(text.debugDescription) accepted")
                continue
            }
            XCTAssertTrue(field.contains("credentials.en"), "the error names the template: \(field)")
            XCTAssertFalse(reason.isEmpty)
            XCTAssertFalse(error!.message.contains("\n"), "one line: \(error!.message)")
        }
    }

    func testUnreadableTemplateRefused() throws {
        let dir = try makeTempFolder()
        try Data([0x53, 0x75, 0x62, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: dir + "/credentials.en.mustache"))
        XCTAssertThrowsError(try MailTemplates(directory: dir).render(.credentials, language: .en, values: values))
    }
}
