// TOTP arithmetic (through liboath), base32, the enrolment URI and the two files' codec.
import PwdirCore
import XCTest

final class TotpTests: XCTestCase {
    /// RFC 6238's SHA-1 key, "12345678901234567890".
    let rfcKey = SecretBytes(Array("12345678901234567890".utf8))

    func text(_ s: SecretBytes) -> String { s.withBytes { String(decoding: $0, as: UTF8.self) } }
    func typed(_ s: String) -> SecretBytes { SecretBytes(Array(s.utf8)) }

    func testRFC6238Vectors() throws {
        // RFC 6238 appendix B (8 digits there; authenticators show the last 6).
        let vectors: [(Int64, String)] = [(59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"),
                                          (1_234_567_890, "005924"), (2_000_000_000, "279037"), (20_000_000_000, "353130")]
        for (time, code) in vectors {
            XCTAssertEqual(try Totp.code(rfcKey, step: Totp.step(at: time)), code, "time \(time)")
        }
    }

    func testBase32() throws {
        XCTAssertEqual(String(decoding: Base32.encode(rfcKey), as: UTF8.self), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        XCTAssertEqual(Base32.decode(Array("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".utf8)).map(text), "12345678901234567890")
        XCTAssertEqual(Base32.decode(Array("gezd gnbv gy3t qojq gezd gnbv gy3t qojq".utf8)).map(text), "12345678901234567890", "spaces and lower case")
        XCTAssertEqual(Base32.decode(Array("MZXW6===".utf8)).map(text), "foo", "padding")
        XCTAssertEqual(String(decoding: Base32.encode(typed("foob")), as: UTF8.self), "MZXW6YQ")
        XCTAssertNil(Base32.decode(Array("MZXW6YQ1".utf8)), "1 is not base32")
        XCTAssertNil(Base32.decode(Array("MZXW7".utf8)), "stray bits")
        XCTAssertNil(Base32.decode(Array("MZ=XW".utf8)), "text after padding")
        for n in 0..<40 {
            let key = SecretBytes((0..<n).map { UInt8(($0 * 37 + n) & 0xFF) })
            XCTAssertTrue(Base32.decode(Base32.encode(key))?.constantTimeEquals(key) ?? false, "\(n) bytes")
        }
    }

    func testMatchWithinTheWindowOnly() throws {
        let now: Int64 = 1_800_000_015
        let step = Totp.step(at: now)
        func code(_ offset: Int64) throws -> SecretBytes { typed(try Totp.code(rfcKey, step: step + offset)) }
        for offset: Int64 in [-1, 0, 1] {
            XCTAssertEqual(try Totp.match(code(offset), key: rfcKey, now: now, window: 1, after: -1), .fresh(step: step + offset))
        }
        for offset: Int64 in [-2, 2, 100] {
            XCTAssertEqual(try Totp.match(code(offset), key: rfcKey, now: now, window: 1, after: -1), .none, "offset \(offset)")
        }
        XCTAssertEqual(try Totp.match(code(2), key: rfcKey, now: now, window: 2, after: -1), .fresh(step: step + 2))
        XCTAssertEqual(try Totp.match(code(1), key: rfcKey, now: now, window: 0, after: -1), .none)
        XCTAssertEqual(try Totp.match(code(0), key: rfcKey, now: now, window: 0, after: -1), .fresh(step: step))
    }

    func testAUsedStepAndEveryEarlierOneAreRefused() throws {
        let now: Int64 = 1_800_000_015
        let step = Totp.step(at: now)
        let current = typed(try Totp.code(rfcKey, step: step))
        XCTAssertEqual(try Totp.match(current, key: rfcKey, now: now, window: 1, after: step), .used)
        XCTAssertEqual(try Totp.match(typed(try Totp.code(rfcKey, step: step - 1)), key: rfcKey, now: now, window: 1, after: step), .used)
        XCTAssertEqual(try Totp.match(typed(try Totp.code(rfcKey, step: step + 1)), key: rfcKey, now: now, window: 1, after: step), .fresh(step: step + 1))
        XCTAssertEqual(try Totp.match(current, key: rfcKey, now: now + 30, window: 1, after: step), .used, "still a replay a step later")
    }

    func testOnlySixDigitsAreACode() throws {
        let now: Int64 = 1_800_000_015
        let code = try Totp.code(rfcKey, step: Totp.step(at: now))
        for bad in ["", "12345", "1234567", " " + code, code + " ", "12a456", code + "\n"] {
            XCTAssertEqual(try Totp.match(typed(bad), key: rfcKey, now: now, window: 1, after: -1), .none, bad)
        }
        XCTAssertFalse(Totp.isCode(typed("１２３４５６")), "full-width digits")
    }

    func testURI() {
        let uri = text(Totp.uri(key: rfcKey, login: "ana.b", issuer: "Example Corp"))
        XCTAssertEqual(uri, "otpauth://totp/Example%20Corp:ana.b?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Corp&digits=6&period=30")
        XCTAssertEqual(text(Totp.uri(key: rfcKey, login: "a", issuer: "h&s?/é")),
                       "otpauth://totp/h%26s%3F%2F%C3%A9:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=h%26s%3F%2F%C3%A9&digits=6&period=30")
    }

    func testNewKeysAre160RandomBits() throws {
        let a = try Totp.newKey(), b = try Totp.newKey()
        XCTAssertEqual(a.count, 20)
        XCTAssertFalse(a.constantTimeEquals(b))
        XCTAssertEqual(Base32.encode(a).count, 32)
    }

    // MARK: The files

    func enrolment() throws -> TotpEnrolment {
        let hash = try Yescrypt.hashNew(typed("ABCDEFGHJKLM"), cost: 1)
        return TotpEnrolment(key: rfcKey, keyID: "0123456789abcdef", created: 1_800_000_000, codesID: "fedcba9876543210",
                             codes: [TotpRecoveryCode(tag: "ABCD", hash: hash), TotpRecoveryCode(tag: "WXYZ", hash: hash)])
    }

    func testFilesRoundTrip() throws {
        let e = try enrolment()
        let back = try TotpCodec.decodeEnrolment(TotpCodec.encode(e))
        XCTAssertTrue(back.key.constantTimeEquals(e.key))
        XCTAssertEqual(back.keyID, e.keyID)
        XCTAssertEqual(back.created, e.created)
        XCTAssertEqual(back.codesID, e.codesID)
        XCTAssertEqual(back.codes, e.codes)
        let bare = TotpEnrolment(key: rfcKey, keyID: "0123456789abcdef", created: 5)
        XCTAssertEqual(try TotpCodec.decodeEnrolment(TotpCodec.encode(bare)).codes, [])
        let s = TotpState(keyID: e.keyID, lastStep: 60_000_000, lastUsed: 1_800_000_001, codesID: e.codesID, spent: 0b101)
        XCTAssertEqual(try TotpCodec.decodeState(TotpCodec.encode(s)), s)
    }

    func testDamagedFilesAreRefused() throws {
        let good = String(decoding: TotpCodec.encode(try enrolment()), as: UTF8.self)
        let damaged = [
            "", good.dropLast().description, "pwdir-totp 2\n" + good.split(separator: "\n", maxSplits: 1)[1],
            good.replacingOccurrences(of: "secret GEZD", with: "secret 1EZD"),
            good.replacingOccurrences(of: "key 0123456789abcdef", with: "key 0123"),
            good.replacingOccurrences(of: "created 1800000000", with: "created -1"),
            good.replacingOccurrences(of: "codes fedcba9876543210", with: "codes -"),
            good.replacingOccurrences(of: "code ABCD ", with: "code ABC "),
            good + "extra line\n",
            good.replacingOccurrences(of: "secret ", with: "secret\n"),
        ]
        for text in damaged {
            XCTAssertThrowsError(try TotpCodec.decodeEnrolment(Array(text.utf8)), text)
        }
        let state = "pwdir-totp-state 1\nkey 0123456789abcdef\nlast_step 5\nlast_used 6\ncodes -\nspent 0\n"
        XCTAssertNoThrow(try TotpCodec.decodeState(Array(state.utf8)))
        for text in [state.replacingOccurrences(of: "last_step 5", with: "last_step x"), state.replacingOccurrences(of: "spent 0", with: "spent -1"),
                     state.replacingOccurrences(of: "codes -\n", with: ""), String(state.dropLast())] {
            XCTAssertThrowsError(try TotpCodec.decodeState(Array(text.utf8)), text)
        }
    }

    func testAStateForAnotherKeyOrSetDoesNotApply() throws {
        let e = try enrolment()
        let s = TotpState(keyID: e.keyID, lastStep: 7, lastUsed: 8, codesID: e.codesID, spent: 1)
        XCTAssertEqual(s.applying(to: e), s)
        XCTAssertEqual(s.codesLeft(of: e), 1)
        var other = try enrolment()
        other.codesID = "1111111111111111"
        XCTAssertEqual(s.applying(to: other), TotpState(keyID: e.keyID, lastStep: 7, lastUsed: 8, codesID: other.codesID, spent: 0), "new codes: none spent, last step kept")
        other.keyID = "2222222222222222"
        XCTAssertEqual(s.applying(to: other), TotpState(keyID: other.keyID, codesID: other.codesID), "another key: fresh")
    }
}
