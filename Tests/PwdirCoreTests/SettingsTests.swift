#if canImport(Glibc)
import Glibc
#endif
import PwdirCore
import PwdirTestSupport
import XCTest

/// `Settings.parse` and `Settings.load`: pwdir.conf.
final class SettingsTests: XCTestCase {
    static let path = "/etc/security/pwdir.conf"

    func parse(_ text: String) throws(PwdirError) -> (Settings, warnings: [String]) {
        try Settings.parse(text, path: Self.path)
    }

    /// Asserts `text` is refused with `.settings` at `line`, the reason mentioning `reason`.
    func assertRefused(_ text: String, line: Int, reason: String = "", file: StaticString = #filePath, line testLine: UInt = #line) {
        let error = caught { () throws(PwdirError) in try parse(text) }
        guard case let .settings(path, gotLine, gotReason)? = error else {
            XCTFail("\(text.debugDescription) should be refused, got \(String(describing: error))", file: file, line: testLine)
            return
        }
        XCTAssertEqual(path, Self.path, file: file, line: testLine)
        XCTAssertEqual(gotLine, line, "\(text.debugDescription): \(gotReason)", file: file, line: testLine)
        XCTAssertTrue(gotReason.contains(reason), "'\(gotReason)' should mention '\(reason)'", file: file, line: testLine)
        XCTAssertEqual(error?.exitStatus, 5, file: file, line: testLine)
    }

    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, 255) == 0 else { return "localhost" }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    func testDefaults() throws {
        let s = Settings()
        XCTAssertEqual(s.deny, 5)
        XCTAssertEqual(s.unlockTime, 0)
        XCTAssertEqual(s.failInterval, 900)
        XCTAssertEqual(s.yescryptCost, 5)
        XCTAssertEqual(s.minlen, 12)
        XCTAssertEqual(s.remember, 5)
        XCTAssertEqual(s.recoveryTTL, 3600)
        XCTAssertEqual(s.sendmail, ["/usr/sbin/sendmail", "-t", "-i"])
        XCTAssertEqual(s.mailFrom, "pwdir@" + Self.hostName())
        XCTAssertEqual(s.generateBits, 80)
        for text in ["", "\n", "# only a comment\n", "   \n\t\n"] {
            let (parsed, warnings) = try parse(text)
            XCTAssertEqual(parsed, s, text.debugDescription)
            XCTAssertEqual(warnings, [])
        }
    }

    func testEveryKey() throws {
        let text = """
            deny = 3
            unlock_time = 600
            fail_interval = 120
            yescrypt_cost = 8
            minlen = 16
            remember = 10
            recovery_ttl = 1800
            sendmail = /usr/bin/msmtp -t --read-envelope-from
            mail_from = noreply@example.org
            generate_bits = 96
            """
        let (s, warnings) = try parse(text)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(s.deny, 3)
        XCTAssertEqual(s.unlockTime, 600)
        XCTAssertEqual(s.failInterval, 120)
        XCTAssertEqual(s.yescryptCost, 8)
        XCTAssertEqual(s.minlen, 16)
        XCTAssertEqual(s.remember, 10)
        XCTAssertEqual(s.recoveryTTL, 1800)
        XCTAssertEqual(s.sendmail, ["/usr/bin/msmtp", "-t", "--read-envelope-from"])
        XCTAssertEqual(s.mailFrom, "noreply@example.org")
        XCTAssertEqual(s.generateBits, 96)
        XCTAssertTrue(Settings.knownKeys.isSuperset(of: ["deny", "unlock_time", "fail_interval", "yescrypt_cost", "minlen", "remember",
                                                         "recovery_ttl", "sendmail", "mail_from", "generate_bits"]))
    }

    func testCommentsBlankLinesAndSpacesAroundEquals() throws {
        let text = "# pwdir.conf\n\n   # indented comment\n\tdeny=3  \nminlen   =   20\n#minlen = 99\n  remember\t=\t7\t\n\n"
        let (s, warnings) = try parse(text)
        XCTAssertEqual(s.deny, 3)
        XCTAssertEqual(s.minlen, 20)
        XCTAssertEqual(s.remember, 7)
        XCTAssertEqual(warnings, [])
    }

    func testLaterLineWins() throws {
        XCTAssertEqual(try parse("deny = 3\ndeny = 4\n").0.deny, 4)
    }

    func testBoundariesAreAccepted() throws {
        let cases: [(String, Int64, Int64, (Settings) -> Int64)] = [
            ("deny", 0, 1000, { Int64($0.deny) }),
            ("unlock_time", 0, 315_360_000, { $0.unlockTime }),
            ("fail_interval", 0, 315_360_000, { $0.failInterval }),
            ("yescrypt_cost", 1, 11, { Int64($0.yescryptCost) }),
            ("minlen", 6, 512, { Int64($0.minlen) }),
            ("remember", 0, 400, { Int64($0.remember) }),
            ("recovery_ttl", 60, 604_800, { $0.recoveryTTL }),
            ("generate_bits", 64, 256, { Int64($0.generateBits) }),
        ]
        for (key, low, high, read) in cases {
            XCTAssertEqual(read(try parse("\(key) = \(low)").0), low, key)
            XCTAssertEqual(read(try parse("\(key) = \(high)").0), high, key)
            // one past either end is refused, on the line it is on
            assertRefused("# c\n\n\(key) = \(low - 1)\n", line: 3, reason: key)
            assertRefused("deny = 1\n\(key) = \(high + 1)", line: 2, reason: "from \(low) to \(high)")
        }
    }

    func testNonNumericValuesAreRefusedWithTheirLine() {
        for value in ["five", "3.5", "", "0x10", "1e3", "3 # comment", "3 4", "- 3", "--3", "9223372036854775808", "٣", "3abc"] {
            assertRefused("# settings\ndeny = 3\n\nminlen = \(value)\ndeny = 4\n", line: 4, reason: "minlen must be a whole number")
        }
        assertRefused("deny\n", line: 1, reason: "a line must read 'key = value'")
        assertRefused("yescrypt_cost = -1", line: 1, reason: "from 1 to 11")
    }

    func testValueIsShownPrintably() {
        let error = caught { () throws(PwdirError) in try parse("deny = \u{1B}[2Jx") }
        XCTAssertFalse((error?.message ?? "\u{1B}").contains("\u{1B}"))
    }

    func testLineWithoutKeyIsAnError() {
        assertRefused("deny = 3\n= 5\n", line: 2, reason: "key = value")
        assertRefused("=\n", line: 1, reason: "key = value")
    }

    func testUnknownKeysAreWarningsNotErrors() throws {
        let (s, warnings) = try parse("deny = 3\nsome_future_key = 42\n\naudit = yes\nminlen = 14\n")
        XCTAssertEqual(s.deny, 3)
        XCTAssertEqual(s.minlen, 14)
        XCTAssertEqual(warnings.count, 2)
        XCTAssertTrue(warnings[0].contains("line 2") && warnings[0].contains("some_future_key"), warnings[0])
        XCTAssertTrue(warnings[1].contains("line 4") && warnings[1].contains("audit"), warnings[1])
        XCTAssertTrue(warnings.allSatisfy { $0.contains(Self.path) })
        // a hostile unknown key cannot put control characters into the log line
        let (_, hostile) = try parse("evil\u{1B}[2J = 1")
        XCTAssertEqual(hostile.count, 1)
        XCTAssertFalse(hostile[0].unicodeScalars.contains { $0.value < 0x20 }, hostile[0].debugDescription)
    }

    func testSendmailMustBeAbsolute() throws {
        XCTAssertEqual(try parse("sendmail = /usr/sbin/sendmail").0.sendmail, ["/usr/sbin/sendmail"])
        XCTAssertEqual(try parse("sendmail =  /bin/mail   -s  x ").0.sendmail, ["/bin/mail", "-s", "x"])
        assertRefused("sendmail = sendmail -t -i", line: 1, reason: "absolute")
        assertRefused("\nsendmail = ./sendmail", line: 2, reason: "absolute")
        assertRefused("sendmail =", line: 1, reason: "absolute")
        assertRefused("sendmail = ~/bin/sendmail", line: 1, reason: "absolute")
    }

    func testMailFromIsValidated() throws {
        XCTAssertEqual(try parse("mail_from = pwdir@example.org").0.mailFrom, "pwdir@example.org")
        XCTAssertEqual(try parse("mail_from = root@localhost").0.mailFrom, "root@localhost")
        for bad in ["", "pwdir", "Pwdir <pwdir@example.org>", "a@b.c\u{0}Bcc: x@y.z", "a b@c.d", "@example.org", "pwdir@", "pwdir@host",
                    "a@b@c.d", "é@example.org", "a@b.c,d@e.f"] {
            assertRefused("deny = 2\nmail_from = \(bad)\n", line: 2, reason: "mail_from")
        }
    }

    /// A pwdir.conf with CRLF line ends parses like the LF one (CR LF is one Character, so
    /// lines are split on the LF byte).
    func testCRLFLineEndsAreLineEnds() {
        let result = caught { () throws(PwdirError) -> Settings in
            let (s, warnings) = try parse("deny = 3\r\nminlen = 10\r\n# comment\r\n")
            XCTAssertEqual(warnings, [])
            return s
        }
        XCTAssertNil(result, "a CRLF pwdir.conf must parse like the LF one")
    }

    // MARK: load

    func testLoadOfMissingFileGivesDefaults() throws {
        let folder = try makeTempFolder()
        let (s, warnings) = try Settings.load(path: folder + "/pwdir.conf")
        XCTAssertEqual(s, Settings())
        XCTAssertEqual(warnings, [])
    }

    func testLoadReadsTheFile() throws {
        let folder = try makeTempFolder()
        let path = folder + "/pwdir.conf"
        try writeFile(path, bytes("# test\ndeny = 7\nnew_key = 1\n"), mode: 0o644)
        let (s, warnings) = try Settings.load(path: path)
        XCTAssertEqual(s.deny, 7)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains(path))
        // it names a command root runs: group-writable is refused too
        try writeFile(path, bytes("deny = 8\n"), mode: 0o664)
        XCTAssertThrowsError(try Settings.load(path: path))
    }

    func testLoadErrorNamesFileAndLine() throws {
        let folder = try makeTempFolder()
        let path = folder + "/pwdir.conf"
        try writeFile(path, bytes("deny = 3\nminlen = 2\n"), mode: 0o644)
        XCTAssertEqual(caught { () throws(PwdirError) in try Settings.load(path: path) },
                       .settings(path: path, line: 2, reason: "minlen must be a whole number from 6 to 512, not '2'"))
    }

    func testGroupOrWorldWritableFileIsRefused() throws {
        let folder = try makeTempFolder()
        let path = folder + "/pwdir.conf"
        for mode: mode_t in [0o646, 0o666, 0o602, 0o620, 0o660] {
            try writeFile(path, bytes("deny = 0\n"), mode: mode)
            guard case let .unsafeFile(p, reason)? = caught({ () throws(PwdirError) in try Settings.load(path: path) }) else {
                XCTFail("mode \(String(mode, radix: 8)) should be refused")
                continue
            }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.contains("others may write"), reason)
        }
    }

    func testFolderOrSymlinkOrInvalidUTF8IsRefused() throws {
        let folder = try makeTempFolder()
        guard case .unsafeFile? = caught({ () throws(PwdirError) in try Settings.load(path: folder) }) else {
            return XCTFail("a folder is not a settings file")
        }
        let real = folder + "/real.conf"
        try writeFile(real, bytes("deny = 1\n"), mode: 0o644)
        XCTAssertEqual(symlink(real, folder + "/link.conf"), 0)
        guard case let .unsafeFile(_, reason)? = caught({ () throws(PwdirError) in try Settings.load(path: folder + "/link.conf") }), reason.contains("symbolic link") else {
            return XCTFail("a symbolic link is not followed (O_NOFOLLOW)")
        }
        try writeFile(real, [0x64, 0x65, 0x6E, 0x79, 0x3D, 0xFF, 0x0A], mode: 0o644)
        XCTAssertEqual(caught { () throws(PwdirError) in try Settings.load(path: real) }, .settings(path: real, line: 0, reason: "not valid UTF-8"))
    }
}

/// The second factor's settings.
final class TotpSettingsTests: XCTestCase {
    func testDefaultsAndValues() throws {
        let d = Settings()
        XCTAssertEqual(d.totp, .off)
        XCTAssertEqual(d.totpWindow, 1)
        XCTAssertEqual(d.totpIssuer, Settings.hostName())
        let (s, warnings) = try Settings.parse("totp = required\ntotp_window = 0\ntotp_issuer = Example Corp\n")
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(s.totp, .required)
        XCTAssertEqual(s.totpWindow, 0)
        XCTAssertEqual(s.totpIssuer, "Example Corp")
        XCTAssertEqual(try Settings.parse("totp = optional\ntotp_window = 10\n").0.totp, .optional)
    }

    func testBadValuesAreRefusedWithTheirLine() {
        for (text, reason) in [("totp = yes", "off, optional or required"), ("totp = Required", "off, optional or required"),
                               ("totp_window = 11", "0 to 10"), ("totp_window = -1", "0 to 10"),
                               ("totp_issuer = a:b", "without ':'"), ("totp_issuer = ", "1 to 64")] {
            let error = caught { () throws(PwdirError) in try Settings.parse("deny = 3\n" + text + "\n") }
            guard case let .settings(_, line, why)? = error else { return XCTFail("\(text) accepted") }
            XCTAssertEqual(line, 2, text)
            XCTAssertTrue(why.contains(reason), "\(text): \(why)")
        }
    }
}
