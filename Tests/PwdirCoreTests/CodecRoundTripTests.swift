import PwdirCore
import PwdirTestSupport
import XCTest

/// `DirectoryCodec.encode` / `decode`: what goes in comes out, byte for byte, whatever the values.
final class CodecRoundTripTests: XCTestCase {
    static let hostileValues: [String] = [
        "", " ", "a\tb", "\t", "line1\nline2", "\n", "ends with newline\n", "cr\rhere", "crlf\r\n",
        "nul\u{0}inside", "\u{0}", "100%", "%", "%%", "%41", "%0A", "%G1", "%4", "a:b:c", ":",
        "k=v=w", "=", "del\u{7F}", "\u{7F}", "\u{1}\u{2}\u{1B}[31m\u{1F}", "é", "e\u{301}",
        "😀", "👩‍👩‍👧‍👦", "日本語", "\u{FEFF}bom", "\u{2028}\u{2029}", "\u{85}next-line", "\u{10FFFF}",
        "uid=evil", "x\tuid=evil", "\n#end users=0\n", "pwdir-directory 1", "{CRYPT}$y$j9T$a$b",
        "  spaces  ", "back\\slash", "quote\"'",
    ]

    @discardableResult
    func roundTrip(_ records: [UserRecord], file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let encoded = DirectoryCodec.encode(records)
        let decoded = try DirectoryCodec.decode(encoded, path: "mem")
        assertSameBytes(decoded, sortedByLogin(records), file: file, line: line)
        XCTAssertEqual(decoded, sortedByLogin(records), file: file, line: line)
        assertNoRawControlInLines(encoded, records: records, file: file, line: line)
        return encoded
    }

    /// Every line of the encoding is header, one user, or trailer; inside a line the only
    /// control byte is the TAB between fields (one per attribute), and DEL never appears.
    func assertNoRawControlInLines(_ encoded: [UInt8], records: [UserRecord], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(encoded.last, 0x0A, "ends with a newline", file: file, line: line)
        let lines = encoded.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, records.count + 2, "one line per user plus header and trailer", file: file, line: line)
        XCTAssertTrue(lines.first!.elementsEqual(bytes("pwdir-directory 1")), file: file, line: line)
        XCTAssertTrue(lines.last!.elementsEqual(bytes("#end users=\(records.count)")), file: file, line: line)
        let tabsWanted = Dictionary(uniqueKeysWithValues: records.map { ($0.login, $0.attributes.count) })
        for l in lines.dropFirst().dropLast() {
            XCTAssertFalse(l.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }, "raw control byte inside a line", file: file, line: line)
            XCTAssertTrue(l.starts(with: bytes("uid=")), file: file, line: line)
            let login = String(decoding: l.dropFirst(4).prefix { $0 != 0x09 }, as: UTF8.self)
            XCTAssertEqual(l.filter { $0 == 0x09 }.count, tabsWanted[login], "TABs on the line of \(login)", file: file, line: line)
        }
    }

    func testEmptyDirectoryEncodesToHeaderAndTrailer() throws {
        let encoded = DirectoryCodec.encode([])
        XCTAssertEqual(encoded, bytes("pwdir-directory 1\n#end users=0\n"))
        XCTAssertEqual(try DirectoryCodec.decode(encoded, path: "mem"), [])
        XCTAssertEqual(DirectoryCodec.header, "pwdir-directory 1")
    }

    func testEncodingOfOneRecordIsExactlyTheDocumentedFormat() {
        let r = UserRecord(login: "ana", attributes: [.init("cn", "Ana\tLópez"), .init("mail", "ana@example.org"), .init("note", "50%: ok\n")])
        XCTAssertEqual(
            DirectoryCodec.encode([r]),
            bytes("pwdir-directory 1\nuid=ana\tcn=Ana%09López\tmail=ana@example.org\tnote=50%25%3A ok%0A\n#end users=1\n"))
    }

    func testEachSpecialByteIsEscapedAsUpperCaseHex() {
        let cases: [(String, String)] = [
            ("\t", "%09"), ("\n", "%0A"), ("\r", "%0D"), ("\u{0}", "%00"), ("%", "%25"), (":", "%3A"),
            ("\u{7F}", "%7F"), ("\u{1F}", "%1F"), ("\u{1B}", "%1B"), ("=", "="), ("é", "é"), (" ", " "),
        ]
        for (value, escaped) in cases {
            let encoded = DirectoryCodec.encode([UserRecord(login: "a", attributes: [.init("x", value)])])
            XCTAssertEqual(encoded, bytes("pwdir-directory 1\nuid=a\tx=\(escaped)\n#end users=1\n"), "value \(value.debugDescription)")
        }
    }

    func testHostileValuesRoundTripInEveryAttribute() throws {
        var records: [UserRecord] = []
        for (i, v) in Self.hostileValues.enumerated() {
            records.append(UserRecord(login: "user\(i)", attributes: [
                .init(UserRecord.Key.fullName, v), .init(UserRecord.Key.mail, v), .init("customAttr", v),
                .init(UserRecord.Key.history, v), .init(UserRecord.Key.history, v + v),
            ]))
        }
        // all hostile values on one record as well
        records.append(UserRecord(login: "all", attributes: Self.hostileValues.enumerated().map { .init("x\($0.offset)", $0.element) }))
        try roundTrip(records)
    }

    func testNormalisationIsKeptByteForByte() throws {
        // é precomposed and decomposed are == as Swift Strings; the file must still keep each form.
        let nfc = UserRecord(login: "a", attributes: [.init("cn", "\u{E9}")])
        let nfd = UserRecord(login: "b", attributes: [.init("cn", "e\u{301}")])
        let decoded = try DirectoryCodec.decode(DirectoryCodec.encode([nfc, nfd]), path: "mem")
        XCTAssertEqual(Array(decoded[0].attributes[0].value.utf8), [0xC3, 0xA9])
        XCTAssertEqual(Array(decoded[1].attributes[0].value.utf8), [0x65, 0xCC, 0x81])
    }

    func testVeryLongValuesRoundTrip() throws {
        var rng = SeededGenerator(seed: 7)
        let pieces = ["a", "%", ":", "\t", "\n", "é", "😀", "\u{0}", "\u{7F}", "z"]
        let long = String((0..<300_000).map { _ in Character(pieces.randomElement(using: &rng)!) }.map(String.init).joined())
        let plain = String(repeating: "x", count: 1_000_000)
        let encoded = try roundTrip([
            UserRecord(login: "long", attributes: [.init("cn", long), .init("blob", plain)]),
            UserRecord(login: "short", attributes: [.init("cn", "s")]),
        ])
        XCTAssertGreaterThan(encoded.count, 1_000_000 + long.utf8.count)
    }

    func testUnknownAttributesKeepTheirOrder() throws {
        let attrs: [UserRecord.Attribute] = [
            .init("zeta", "1"), .init("cn", "Zed"), .init("alpha", "2"), .init("x-custom-Attr9", "v"),
            .init("mail", "z@example.org"), .init("A", ""), .init("userPassword", "{CRYPT}x"), .init("b2", "last"),
        ]
        let decoded = try DirectoryCodec.decode(DirectoryCodec.encode([UserRecord(login: "zed", attributes: attrs)]), path: "mem")
        XCTAssertEqual(decoded.first?.attributes.map(\.name), attrs.map(\.name))
        XCTAssertEqual(decoded.first?.attributes.map(\.value), attrs.map(\.value))
    }

    func testMultiValuedHistoryRoundTripsInOrderAndInterleaved() throws {
        let attrs: [UserRecord.Attribute] = [
            .init("pwdHistory", "h1"), .init("cn", "Ana"), .init("pwdHistory", "h2:with:colons"),
            .init("pwdHistory", "h1"), .init("mail", "a@example.org"), .init("pwdHistory", ""),
        ]
        let decoded = try DirectoryCodec.decode(DirectoryCodec.encode([UserRecord(login: "ana", attributes: attrs)]), path: "mem")
        XCTAssertEqual(decoded.first?.values(UserRecord.Key.history), ["h1", "h2:with:colons", "h1", ""])
        XCTAssertEqual(decoded.first?.attributes, attrs)
    }

    func testUnsortedRecordsComeOutSortedByBytes() throws {
        let logins = ["zed", "ana", "Bob", "bo", "b", "ana.x", "9", "@x", "ana-x", "ANA", "ana_x", "an"]
        let records = logins.map { UserRecord(login: $0, attributes: [.init("cn", "name of \($0)")]) }
        let decoded = try DirectoryCodec.decode(DirectoryCodec.encode(records), path: "mem")
        XCTAssertEqual(decoded.map(\.login), ["9", "@x", "ANA", "Bob", "an", "ana", "ana-x", "ana.x", "ana_x", "b", "bo", "zed"])
        for r in decoded { XCTAssertEqual(r.fullName, "name of \(r.login)") }
        // and the encoding does not depend on the input order
        var rng = SeededGenerator(seed: 11)
        XCTAssertEqual(DirectoryCodec.encode(records.shuffled(using: &rng)), DirectoryCodec.encode(records))
    }

    /// Property: random values (random bytes made into valid UTF-8, biased towards the bytes the
    /// format must escape) round-trip exactly, and `lookup` agrees with `decode`.
    func testRandomValuesRoundTripExactly() throws {
        let seed: UInt64 = 0x5EED_0001
        var rng = SeededGenerator(seed: seed)
        let special: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x25, 0x3A, 0x3D, 0x7F, 0x1F, 0x1B, 0x80, 0xC3, 0xE2, 0xF0, 0xFF]
        let loginChars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@".utf8)
        let nameStart = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        let nameRest = nameStart + Array("0123456789-".utf8)

        func randomValue() -> String {
            let n = Int.random(in: 0...(Bool.random(using: &rng) ? 12 : 200), using: &rng)
            var b: [UInt8] = []
            for _ in 0..<n {
                b.append(Int.random(in: 0..<10, using: &rng) < 3 ? special.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng))
            }
            return String(decoding: b, as: UTF8.self)  // invalid sequences become U+FFFD: always valid UTF-8
        }
        func randomLogin() -> String {
            var b = [nameStart.randomElement(using: &rng)!]
            for _ in 0..<Int.random(in: 0...15, using: &rng) { b.append(loginChars.randomElement(using: &rng)!) }
            return String(decoding: b, as: UTF8.self)
        }
        func randomName() -> String {
            var b = [nameStart.randomElement(using: &rng)!]
            for _ in 0..<Int.random(in: 0...10, using: &rng) { b.append(nameRest.randomElement(using: &rng)!) }
            return String(decoding: b, as: UTF8.self)
        }

        for iteration in 0..<500 {
            var logins: Set<String> = []
            while logins.count < Int.random(in: 1...6, using: &rng) { logins.insert(randomLogin()) }
            var records: [UserRecord] = []
            for login in logins {
                var names: Set<String> = []
                var attrs: [UserRecord.Attribute] = []
                for _ in 0..<Int.random(in: 0...7, using: &rng) {
                    let name = Int.random(in: 0..<4, using: &rng) == 0 ? UserRecord.Key.history : randomName()
                    if name.lowercased() == "uid" || (name != UserRecord.Key.history && names.contains(name)) { continue }
                    names.insert(name)
                    attrs.append(.init(name, randomValue()))
                }
                records.append(UserRecord(login: login, attributes: attrs))
            }
            let encoded = DirectoryCodec.encode(records)
            let decoded: [UserRecord]
            do { decoded = try DirectoryCodec.decode(encoded, path: "mem") } catch {
                XCTFail("seed \(seed) iteration \(iteration): decode failed: \(error)")
                return
            }
            assertSameBytes(decoded, sortedByLogin(records), "seed \(seed) iteration \(iteration)")
            assertNoRawControlInLines(encoded, records: records)
            for r in records {
                let found = try lookupIn(encoded, r.login, path: "mem")
                assertSameBytes(found.map { [$0] } ?? [], [r], "lookup, seed \(seed) iteration \(iteration)")
            }
            if testRun?.failureCount ?? 0 > 0 { return }  // one failing iteration says enough
        }
    }
}
