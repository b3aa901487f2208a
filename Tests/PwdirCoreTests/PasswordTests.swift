import Foundation
import PwdirCore
import PwdirTestSupport
import XCTest

/// `PasswordGenerator`, `PasswordPolicy`, `SecretBytes` and the constant-time comparisons.
final class PasswordTests: XCTestCase {
    static let lookAlikes = Array("0Oo1lI".utf8)

    func string(_ s: SecretBytes) -> String { s.withBytes { String(decoding: $0, as: UTF8.self) } }

    // MARK: PasswordGenerator

    func testAlphabetHasNoLookAlikes() {
        let a = PasswordGenerator.alphabet
        XCTAssertEqual(a.count, 56)
        XCTAssertEqual(Set(a).count, 56, "no symbol twice")
        for c in Self.lookAlikes { XCTAssertFalse(a.contains(c), String(UnicodeScalar(c))) }
        XCTAssertTrue(a.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 50 && $0 <= 57) })
    }

    func testLengthGivesTheEntropyAskedFor() {
        let bitsPerSymbol = log2(56.0)
        for bits in 1...300 {
            for minLength in [1, 12, 20] {
                let n = PasswordGenerator.length(bits: bits, minLength: minLength)
                XCTAssertGreaterThanOrEqual(n, minLength)
                XCTAssertGreaterThanOrEqual(Double(n) * bitsPerSymbol, Double(bits), "bits \(bits)")
                if n > minLength { XCTAssertLessThan(Double(n - 1) * bitsPerSymbol, Double(bits) + 0.05, "not longer than needed: bits \(bits)") }
            }
        }
        XCTAssertEqual(PasswordGenerator.length(bits: 80, minLength: 12), 14)
        XCTAssertEqual(PasswordGenerator.length(bits: 64, minLength: 12), 12)
        XCTAssertEqual(PasswordGenerator.length(bits: 256, minLength: 12), 45)
    }

    func assertGoodPassword(_ p: SecretBytes, bits: Int, minLength: Int, file: StaticString = #filePath, line: UInt = #line) {
        let b = p.withBytes { Array($0) }
        XCTAssertGreaterThanOrEqual(b.count, minLength, file: file, line: line)
        XCTAssertGreaterThanOrEqual(b.count, 12, file: file, line: line)
        XCTAssertGreaterThanOrEqual(Double(b.count), Double(bits) / 5.8, file: file, line: line)
        XCTAssertTrue(b.allSatisfy(PasswordGenerator.alphabet.contains), string(p), file: file, line: line)
        XCTAssertFalse(b.contains(where: Self.lookAlikes.contains), string(p), file: file, line: line)
        XCTAssertTrue(b.contains { $0 >= 97 && $0 <= 122 }, "a lower-case letter in \(string(p))", file: file, line: line)
        XCTAssertTrue(b.contains { $0 >= 65 && $0 <= 90 }, "an upper-case letter in \(string(p))", file: file, line: line)
        XCTAssertTrue(b.contains { $0 >= 48 && $0 <= 57 }, "a digit in \(string(p))", file: file, line: line)
        XCTAssertFalse(p.containsNUL, file: file, line: line)
    }

    func testGeneratedPasswordsAreWellMadeAndDistinct() throws {
        var seen: Set<[UInt8]> = []
        var counts: [UInt8: Int] = [:]
        for _ in 0..<200 {
            let p = try PasswordGenerator.generate(bits: 80, minLength: 12)
            assertGoodPassword(p, bits: 80, minLength: 12)
            let b = p.withBytes { Array($0) }
            seen.insert(b)
            for c in b { counts[c, default: 0] += 1 }
        }
        XCTAssertEqual(seen.count, 200, "200 generated passwords are all different")
        // 2,800 draws over 56 symbols (50 expected each): every symbol shows up, none dominates
        XCTAssertEqual(counts.count, 56, "symbols never drawn: \(PasswordGenerator.alphabet.filter { counts[$0] == nil }.map { String(UnicodeScalar($0)) })")
        XCTAssertLessThan(counts.values.max() ?? 0, 150)
    }

    func testGeneratedPasswordsFollowBitsAndMinLength() throws {
        for (bits, minLength) in [(64, 12), (80, 30), (128, 12), (256, 12), (64, 6)] {
            for _ in 0..<10 {
                let p = try PasswordGenerator.generate(bits: bits, minLength: minLength)
                assertGoodPassword(p, bits: bits, minLength: minLength)
                XCTAssertGreaterThanOrEqual(p.count, PasswordGenerator.length(bits: bits, minLength: minLength))
            }
        }
    }

    func testGeneratedPasswordPassesThePolicy() throws {
        var settings = Settings()
        settings.minlen = 20
        let p = try PasswordGenerator.generate(bits: settings.generateBits, minLength: settings.minlen)
        XCTAssertNoThrow(try PasswordPolicy(settings: settings).check(p))
    }

    // MARK: PasswordPolicy

    func policy(minlen: Int) -> PasswordPolicy {
        var s = Settings()
        s.minlen = minlen
        return PasswordPolicy(settings: s)
    }

    func testMinlenCountsCharactersNotBytes() {
        let p = policy(minlen: 12)
        XCTAssertEqual(p.minlen, 12)
        XCTAssertNoThrow(try p.check(secret(String(repeating: "é", count: 12))))
        XCTAssertNoThrow(try p.check(secret(String(repeating: "😀", count: 12))))
        XCTAssertNoThrow(try p.check(secret(String(repeating: "a", count: 12))))
        XCTAssertNoThrow(try p.check(secret("ab日本語éèàçù😀z")))
        for short in [String(repeating: "é", count: 11), String(repeating: "😀", count: 11), String(repeating: "a", count: 11), "日本語日本語日本語日本"] {
            guard case .weakPassword? = caught({ () throws(PwdirError) in try p.check(secret(short)) }) else {
                XCTFail("\(short) (\(short.unicodeScalars.count) characters, \(short.utf8.count) bytes) should be too short")
                continue
            }
        }
    }

    func testEmptyNulAndOverLongAreRefused() {
        let p = policy(minlen: 6)
        guard case .weakPassword? = caught({ () throws(PwdirError) in try p.check(secret("")) }) else { return XCTFail("empty") }
        guard case .weakPassword? = caught({ () throws(PwdirError) in try p.check(secret("abcdef\u{0}ghijkl")) }) else { return XCTFail("NUL") }
        for over in [String(repeating: "a", count: 513), String(repeating: "é", count: 257), String(repeating: "a", count: 5000)] {
            XCTAssertEqual(caught { () throws(PwdirError) in try p.check(secret(over)) }, .passwordTooLong(max: 511), "\(over.utf8.count) bytes")
        }
        XCTAssertNoThrow(try p.check(secret(String(repeating: "a", count: 511))))
    }

    /// libxcrypt's CRYPT_MAX_PASSPHRASE_SIZE (512) counts the terminating NUL: every password
    /// the policy accepts can be hashed, and 512 bytes is refused as too long.
    func testEveryPasswordThePolicyAcceptsCanBeHashed() {
        let pw = SecretBytes(Array(repeating: UInt8(ascii: "a"), count: 512))
        let error = caught { () throws(PwdirError) -> String in
            try policy(minlen: 12).check(pw)
            return try Yescrypt.hashNew(pw, cost: 1)
        }
        switch error {
        case nil, .passwordTooLong?: break  // hashed, or refused by the policy as too long: both fine
        default: XCTFail("a password the policy accepts must be hashable; got \(String(describing: error))")
        }
    }

    // MARK: SecretBytes and constant-time comparison

    func testSecretBytesBasics() {
        let s = secret("pass\u{0}word")
        XCTAssertEqual(s.count, 9)
        XCTAssertFalse(s.isEmpty)
        XCTAssertTrue(s.containsNUL)
        XCTAssertEqual(s.withCString { String(cString: $0) }, "pass", "as a C string it stops at the NUL")
        XCTAssertEqual(s.withBytes { Array($0) }, Array("pass\u{0}word".utf8))
        XCTAssertTrue(secret("").isEmpty)
        XCTAssertEqual(secret("").withCString { String(cString: $0) }, "")
        XCTAssertFalse(secret("é").containsNUL)
        let fromC = "from C".withCString { SecretBytes(cString: $0) }
        XCTAssertEqual(fromC.withBytes { Array($0) }, Array("from C".utf8))
        let copied = SecretBytes(copying: nil, count: 3)
        XCTAssertEqual(copied.withBytes { Array($0) }, [0, 0, 0])
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(secret("abc").constantTimeEquals(secret("abc")))
        XCTAssertTrue(secret("").constantTimeEquals(secret("")))
        XCTAssertTrue(secret("é\u{0}x").constantTimeEquals(secret("é\u{0}x")))
        XCTAssertFalse(secret("abc").constantTimeEquals(secret("abd")))
        XCTAssertFalse(secret("abc").constantTimeEquals(secret("bbc")))
        XCTAssertFalse(secret("abc").constantTimeEquals(secret("abcd")))
        XCTAssertFalse(secret("abcd").constantTimeEquals(secret("abc")))
        XCTAssertFalse(secret("abc").constantTimeEquals(secret("abc\u{0}")), "a trailing NUL is a difference")
        XCTAssertFalse(secret("").constantTimeEquals(secret("\u{0}")))
        XCTAssertFalse(secret("").constantTimeEquals(secret("a")))
        XCTAssertFalse(secret("\u{E9}").constantTimeEquals(secret("e\u{301}")), "bytes, not canonical equivalence")
        let long = String(repeating: "x", count: 10_000)
        XCTAssertTrue(secret(long).constantTimeEquals(secret(long)))
        XCTAssertFalse(secret(long).constantTimeEquals(secret(long.dropLast() + "y")))
    }

    func testConstantTimeEqualOnBuffersAndStrings() {
        func eq(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.withUnsafeBytes { x in b.withUnsafeBytes { y in constantTimeEqual(x, y) } } }
        XCTAssertTrue(eq([], []))
        XCTAssertTrue(eq([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(eq([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(eq([1, 2, 3], [1, 2]))
        XCTAssertFalse(eq([1, 2], [1, 2, 0]), "zero padding is not equality")
        XCTAssertFalse(eq([0x80], [0x00]))
        for bit in 0..<8 { XCTAssertFalse(eq([0], [UInt8(1) << bit]), "bit \(bit)") }

        XCTAssertTrue(constantTimeEqual("$y$j9T$abc", "$y$j9T$abc"))
        XCTAssertTrue(constantTimeEqual("", ""))
        XCTAssertFalse(constantTimeEqual("$y$j9T$abc", "$y$j9T$abd"))
        XCTAssertFalse(constantTimeEqual("abc", "abc\u{0}"))
        XCTAssertFalse(constantTimeEqual("\u{E9}", "e\u{301}"), "compares UTF-8 bytes, not Characters")
        let bridged = "abc" + String(repeating: "d", count: 100)
        XCTAssertTrue(constantTimeEqual(bridged, "abc" + String(repeating: "d", count: 100)))
    }
}
