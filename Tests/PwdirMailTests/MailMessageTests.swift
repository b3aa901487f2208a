import Foundation
import PwdirCore
import PwdirMail
import PwdirTestSupport
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

    // MARK: Headers

    /// Every header pwdir promises, once each, in a block of CRLF lines, then an empty line.
    func testEveryHeaderOnceWithCRLF() throws {
        let m = MailMessage(from: "pwdir@example.org", to: "ana@corp.example", subject: "Your account on vm", body: "Hello")
        let bytes = try m.encoded(date: 1_700_000_000, host: "vm.example", messageID: "id-1@vm.example")
        // no bare LF, no bare CR, 7-bit only (quoted-printable body, RFC 2047 headers)
        for (i, b) in bytes.enumerated() {
            XCTAssertLessThan(b, 0x80, "8-bit byte at \(i)")
            if b == 0x0A { XCTAssertEqual(bytes[i - 1], 0x0D, "bare LF at \(i)") }
            if b == 0x0D { XCTAssertEqual(bytes[i + 1], 0x0A, "bare CR at \(i)") }
        }
        XCTAssertEqual(Array(bytes.suffix(2)), [0x0D, 0x0A], "the message ends with CRLF")
        let (headers, body) = try XCTUnwrap(MailDecode.split(bytes))
        let lines = headers.components(separatedBy: "\r\n")
        XCTAssertEqual(lines, [
            "Date: Tue, 14 Nov 2023 22:13:20 +0000",
            "Message-ID: <id-1@vm.example>",
            "From: pwdir@example.org",
            "To: ana@corp.example",
            "Subject: Your account on vm",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "Auto-Submitted: auto-generated",
        ])
        XCTAssertEqual(body, "Hello\r\n")
        for forbidden in ["Bcc:", "Cc:", "Reply-To:", "Content-Type: text/html"] {
            XCTAssertFalse(headers.contains(forbidden), forbidden)
        }
    }

    func testRFC5322DatesWithoutLocale() {
        XCTAssertEqual(MailMessage.rfc5322Date(0), "Thu, 1 Jan 1970 00:00:00 +0000")
        XCTAssertEqual(MailMessage.rfc5322Date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000")
        XCTAssertEqual(MailMessage.rfc5322Date(1_234_567_890), "Fri, 13 Feb 2009 23:31:30 +0000")
        XCTAssertEqual(MailMessage.rfc5322Date(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 +0000")
        XCTAssertEqual(MailMessage.rfc5322Date(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 +0000")
    }

    /// A generated Message-ID is unique, `<local@host>`, and a hostile host name cannot break
    /// the header.
    func testGeneratedMessageIDs() throws {
        var seen: Set<String> = []
        for _ in 0..<20 {
            let bytes = try MailMessage(from: "p@example.org", to: "a@b.example", subject: "s", body: "b")
                .encoded(date: 1_700_000_000, host: "evil\r\nBcc: x@y.example <>")
            let (headers, _) = try XCTUnwrap(MailDecode.split(bytes))
            let id = try XCTUnwrap(MailDecode.header("Message-ID", in: headers))
            XCTAssertTrue(id.hasPrefix("<1700000000.") && id.hasSuffix(">"), id)
            XCTAssertFalse(id.dropFirst().dropLast().contains { $0 == "<" || $0 == ">" || $0 == " " || $0 == "\r" || $0 == "\n" }, id)
            XCTAssertEqual(id.filter { $0 == "@" }.count, 1, id)
            XCTAssertFalse(headers.contains("Bcc:"))
            XCTAssertEqual(headers.components(separatedBy: "\r\n").count, 9)
            seen.insert(id)
        }
        XCTAssertEqual(seen.count, 20, "Message-IDs repeat")
    }

    // MARK: RFC 2047

    func testASCIISubjectStaysPlain() {
        XCTAssertEqual(MailMessage.encodeHeaderWords("Your account on vm"), "Your account on vm")
        XCTAssertEqual(MailMessage.encodeHeaderWords("Ana <&> O'Brien \"Q\""), "Ana <&> O'Brien \"Q\"")
        // text that would itself read as an encoded word is encoded
        let tricky = MailMessage.encodeHeaderWords("=?utf-8?B?SGk=?=")
        XCTAssertTrue(tricky.hasPrefix("=?utf-8?B?") && tricky != "=?utf-8?B?SGk=?=", tricky)
        let words = MailDecode.encodedWords(tricky)
        XCTAssertEqual(words.map { String(decoding: $0.flatMap { $0.bytes }, as: UTF8.self) }, "=?utf-8?B?SGk=?=")
    }

    /// Words of at most 75 characters, each of which decodes alone to valid UTF-8 (no
    /// character split between two words), and together give back the text.
    func testEncodedWordsNeverSplitACharacterAndFit75() throws {
        let samples = [
            "Vos accès à hôte",
            "Votre mot de passe sur serveur-de-production-principal.exemple.fr a été changé",
            String(repeating: "é", count: 100),
            String(repeating: "€", count: 61),
            String(repeating: "😀", count: 40),
            "x" + String(repeating: "日本語", count: 30),
            "Zoé Étienne — “guillemets” 🇫🇷 ok",
        ]
        // every alignment of 1-, 2-, 3- and 4-byte characters against the word boundary
        var all = samples
        for prefix in 0..<8 {
            all.append(String(repeating: "a", count: prefix) + String(repeating: "é€😀", count: 25))
        }
        for text in all {
            let encoded = MailMessage.encodeHeaderWords(text)
            let words = try XCTUnwrap(MailDecode.encodedWords(encoded), "not a list of encoded words: \(encoded)")
            XCTAssertFalse(words.isEmpty)
            var joined: [UInt8] = []
            for w in words {
                XCTAssertLessThanOrEqual(w.word.count, 75, "encoded word longer than 75: \(w.word)")
                XCTAssertNotNil(String(validating: w.bytes, as: UTF8.self), "a word of \(text.debugDescription) splits a character: \(w.word)")
                joined += w.bytes
            }
            XCTAssertEqual(String(decoding: joined, as: UTF8.self), text)
            for line in encoded.components(separatedBy: "\r\n").dropFirst() {
                XCTAssertTrue(line.hasPrefix(" "), "continuation line not folded with a space: \(line.debugDescription)")
            }
        }
    }

    /// One user-perceived character can be longer than a whole encoded word (a letter with many
    /// combining marks, an emoji ZWJ sequence): it must be split between Unicode scalars, which
    /// RFC 2047 allows, never between the bytes of one scalar, and no word may exceed 75.
    func testLongGraphemeClustersStillFit75() throws {
        let zalgo = "Z" + String(repeating: "\u{0301}", count: 40) + "oé"  // one Character of 81 bytes
        let family = String(repeating: "👩‍👩‍👧‍👦", count: 3)  // 25 bytes each
        for text in [zalgo, family + zalgo] {
            let encoded = MailMessage.encodeHeaderWords(text)
            let words = try XCTUnwrap(MailDecode.encodedWords(encoded))
            for w in words {
                XCTAssertLessThanOrEqual(w.word.count, 75, "encoded word longer than 75 characters (\(w.word.count)): \(w.word)")
                XCTAssertNotNil(String(validating: w.bytes, as: UTF8.self), "a word splits a UTF-8 sequence")
            }
            XCTAssertEqual(String(decoding: words.flatMap { $0.bytes }, as: UTF8.self), text)
        }
    }

    /// RFC 2047 §2: "each line of a header field that contains one or more 'encoded-word's is
    /// limited to 76 characters" — the first line counts "Subject: " too.
    func testEncodedSubjectLinesFit76() throws {
        let subject = "Votre mot de passe sur serveur-de-production-principal.exemple.fr a été changé"
        let bytes = try MailMessage(from: "p@example.org", to: "a@b.example", subject: subject, body: "b").encoded(date: 0, host: "h", messageID: "x@h")
        let (headers, _) = try XCTUnwrap(MailDecode.split(bytes))
        let value = try XCTUnwrap(MailDecode.header("Subject", in: headers))
        let words = try XCTUnwrap(MailDecode.encodedWords(value))
        XCTAssertEqual(String(decoding: words.flatMap { $0.bytes }, as: UTF8.self), subject)
        let subjectLines = headers.components(separatedBy: "\r\n").drop { !$0.hasPrefix("Subject:") }.prefix { $0.hasPrefix("Subject:") || $0.hasPrefix(" ") }
        XCTAssertGreaterThan(subjectLines.count, 1)
        for line in subjectLines {
            XCTAssertLessThanOrEqual(line.count, 76, "header line of \(line.count) characters: \(line)")
        }
    }

    func testSubjectControlCharactersRefused() {
        for subject in ["a\rb", "a\nb", "a\r\nBcc: x@y.example", "tab\there", "nul\u{0}", "del\u{7F}", "esc\u{1B}[31m"] {
            let error = caught { () throws(PwdirError) in
                try MailMessage(from: "p@example.org", to: "a@b.example", subject: subject, body: "b").encoded(date: 0, host: "h")
            }
            guard case let .invalidValue(field, _)? = error else {
                XCTFail("subject \(subject.debugDescription) accepted: \(String(describing: error))")
                continue
            }
            XCTAssertEqual(field, "subject")
        }
    }

    func testAddressInjectionRefusedInFromAndTo() {
        let hostile = [
            "a@b.example\r\nBcc: x@y.example", "a@b.example\nBcc: x@y.example", "a@b.example\rBcc: x@y.example",
            "a@b.example, x@y.example", "Ana <a@b.example>", "a@b.example\u{0}", "", "nobody",
        ]
        for address in hostile {
            let toError = caught { () throws(PwdirError) in
                try MailMessage(from: "p@example.org", to: address, subject: "s", body: "b").encoded(date: 0, host: "h")
            }
            guard case let .invalidValue(field, _)? = toError else {
                XCTFail("To \(address.debugDescription) accepted")
                continue
            }
            XCTAssertEqual(field, "recipient")
            let fromError = caught { () throws(PwdirError) in
                try MailMessage(from: address, to: "a@b.example", subject: "s", body: "b").encoded(date: 0, host: "h")
            }
            guard case let .invalidValue(fromField, _)? = fromError else {
                XCTFail("From \(address.debugDescription) accepted")
                continue
            }
            XCTAssertEqual(fromField, "mail_from")
        }
    }

    /// A body cannot add headers: a line "Bcc: …" in it stays in the body, after the empty line.
    func testBodyCannotAddHeaders() throws {
        let bytes = try MailMessage(from: "p@example.org", to: "a@b.example", subject: "s", body: "\r\nBcc: x@y.example\n\nBcc: z@y.example").encoded(date: 0, host: "h", messageID: "x@h")
        let (headers, body) = try XCTUnwrap(MailDecode.split(bytes))
        XCTAssertFalse(headers.contains("Bcc"))
        XCTAssertEqual(String(decoding: try XCTUnwrap(MailDecode.quotedPrintable(body)), as: UTF8.self), "\r\nBcc: x@y.example\r\n\r\nBcc: z@y.example\r\n")
    }

    // MARK: Quoted-printable

    /// Lines of at most 76 characters, only legal characters, no trailing white space, and the
    /// decoder written above gives back the text (with CRLF line ends).
    func testQuotedPrintableLinesAndRoundTrip() throws {
        let samples = [
            "",
            "Hello",
            "a=b, 100% = sûr",
            "trailing space \nand tab\t\nend ",
            String(repeating: "x", count: 300),
            String(repeating: "é", count: 100),
            String(repeating: "=", count: 80),
            String(repeating: "ab ", count: 60),
            String(repeating: "a", count: 74) + "é" + String(repeating: "b", count: 10),
            String(repeating: "a", count: 75) + " ",
            "Bonjour Zoé Étienne,\n\nVoici comment vous connecter à hôte :\n\n    Identifiant :             zoe\n    Mot de passe temporaire : Ab3=Cd4?Ef5&\n",
            "From the start\n.\n..dots\n",
            "lines\r\nwith CRLF\r\nalready",
            "😀🇫🇷日本語 \u{0}\u{7F}\u{1B}",
        ]
        var all = samples
        for n in 70...80 { all.append(String(repeating: "a", count: n) + "=" + String(repeating: "é", count: 3)) }
        for text in all {
            let encoded = MailMessage.quotedPrintable(text)
            for line in encoded.components(separatedBy: "\r\n") {
                XCTAssertLessThanOrEqual(line.count, 76, "quoted-printable line of \(line.count): \(line)")
                for scalar in line.unicodeScalars {
                    XCTAssertTrue((scalar.value >= 33 && scalar.value <= 126) || scalar == " " || scalar == "\t", "illegal character \(scalar.value) in \(line.debugDescription)")
                }
                if let last = line.last { XCTAssertFalse(last == " " || last == "\t", "trailing white space in \(line.debugDescription)") }
            }
            XCTAssertFalse(encoded.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "bare LF")
            XCTAssertFalse(encoded.replacingOccurrences(of: "\r\n", with: "").contains("\r"), "bare CR")
            let decoded = try XCTUnwrap(MailDecode.quotedPrintable(encoded), "malformed: \(encoded)")
            let expected = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
            XCTAssertEqual(String(decoding: decoded, as: UTF8.self), expected, "round trip of \(text.debugDescription)")
        }
    }

    /// The whole encoded message decodes back to the body given, and the subject to the one given.
    func testWholeMessageRoundTrip() throws {
        let body = "Bonjour Zoé Étienne,\n\n    Mot de passe temporaire : Xy7=Kp9&<Q>\n\n" + String(repeating: "Ligne très longue ", count: 10)
        let subject = "Vos accès à hôte.exemple.fr"
        let bytes = try MailMessage(from: "pwdir@example.org", to: "zoe@corp.example", subject: subject, body: body).encoded(date: 0, host: "h")
        let (headers, encodedBody) = try XCTUnwrap(MailDecode.split(bytes))
        let words = try XCTUnwrap(MailDecode.encodedWords(try XCTUnwrap(MailDecode.header("Subject", in: headers))))
        XCTAssertEqual(String(decoding: words.flatMap { $0.bytes }, as: UTF8.self), subject)
        let decoded = String(decoding: try XCTUnwrap(MailDecode.quotedPrintable(encodedBody)), as: UTF8.self)
        XCTAssertEqual(decoded, body.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
    }
}
