import PwdirCore
import PwdirTestSupport
import XCTest

func secret(_ s: String) -> SecretBytes { SecretBytes(Array(s.utf8)) }

/// `Yescrypt`: hashes made and checked through libxcrypt.
final class YescryptTests: XCTestCase {
    /// Made outside our code, by libxcrypt through Python:
    ///     python3 -c "import crypt; print(crypt.crypt('correct horse', '\$y\$j9T\$' + 'abcdefghijklmnopqrstu.'))"
    /// (A 22-character yescrypt salt encodes 16 bytes, so its last character carries only 2 bits
    /// and must be one of `./01`: with 'abcdefghijklmnopqrstuv' libxcrypt answers '*0'.)
    static let libxcryptVector = "$y$j9T$abcdefghijklmnopqrstu.$pk06PwnbQa631foWNYhw6N.E9wx6lICleH/SnT.xzi0"
    static let vectorPassword = "correct horse"
    /// The same password as a SHA-512 crypt hash (python3: crypt.crypt('correct horse', '$6$saltsaltsalt$')).
    static let sha512Hash = "$6$saltsaltsalt$Cy2drr8kDRji6smvDcT28wkqtq0R0VzVL5CkrjPQCITc5d/31j94knt9rGTcVSyjLXfjsiIsBh5ee8qR/3QDx1"

    var dummy: String { (try? Yescrypt.makeSetting(cost: 1)) ?? "" }

    func testVectorMadeByLibxcryptVerifies() throws {
        XCTAssertTrue(Yescrypt.verify(secret(Self.vectorPassword), against: Self.libxcryptVector, dummySetting: dummy))
        // our hashing of the same password with the same setting gives libxcrypt's exact string
        XCTAssertEqual(try Yescrypt.hash(secret(Self.vectorPassword), setting: "$y$j9T$abcdefghijklmnopqrstu."), Self.libxcryptVector)
        XCTAssertEqual(try Yescrypt.hash(secret(Self.vectorPassword), setting: Self.libxcryptVector), Self.libxcryptVector)
        XCTAssertTrue(Yescrypt.isWellFormed(Self.libxcryptVector))
    }

    func testWrongPasswordsDoNotVerify() {
        for wrong in ["", "correct horsE", "Correct horse", "correct hors", "correct horse ", " correct horse", "correct horse\n",
                      "correct horse battery", "correcthorse", "c"] {
            XCTAssertFalse(Yescrypt.verify(secret(wrong), against: Self.libxcryptVector, dummySetting: dummy), wrong.debugDescription)
        }
    }

    func testMalformedOrLockedStoredValuesNeverVerify() throws {
        let v = Self.libxcryptVector
        let hashPart = v.split(separator: "$").last!
        var malformed: [String?] = [
            nil, "", "*", "!", "!!", "*" + v, "!" + v, "!!" + v, "x" + v, " " + v, v + " ", v + "\n", "{CRYPT}" + v,
            String(v.dropLast()), String(v.dropLast(10)), v + "A", "$y$j9T$abcdefghijklmnopqrstu.$", "$y$j9T$abcdefghijklmnopqrstu.",
            "$Y" + v.dropFirst(2), "$y$$abcdefghijklmnopqrstu.$" + hashPart, "$y$j9T$abcdefghijklmnopqrstu.$" + hashPart + "$",
            Self.sha512Hash, "$1$salt$abcdefghijklmnopqrstuv", "$2b$05$" + String(repeating: "a", count: 53),
            "y$j9T$abcdefghijklmnopqrstu.$" + hashPart,
        ]
        // the hash with one character replaced by something outside the crypt alphabet
        for bad in ["_", "-", "+", "=", "*", "!", "é", "\u{0}", ":"] {
            var chars = Array(v)
            chars[chars.count - 5] = Character(bad)
            malformed.append(String(chars))
            var salted = Array(v)
            salted[10] = Character(bad)  // inside the salt
            malformed.append(String(salted))
        }
        for stored in malformed {
            XCTAssertFalse(Yescrypt.verify(secret(Self.vectorPassword), against: stored, dummySetting: dummy), String(describing: stored))
            if let stored { XCTAssertFalse(Yescrypt.isWellFormed(stored), stored.debugDescription) }
        }
        // libxcrypt itself would accept the right password for the SHA-512 hash: only $y$ is ours
        XCTAssertEqual(try Yescrypt.hash(secret(Self.vectorPassword), setting: Self.sha512Hash), Self.sha512Hash)
    }

    func testAHashWithEmptySaltThatWouldMatchIsStillRefused() throws {
        // libxcrypt hashes with an empty salt; pwdir never makes one, so it does not count as a hash
        let emptySalt = try Yescrypt.hash(secret("pw"), setting: "$y$j9T$")
        XCTAssertTrue(emptySalt.hasPrefix("$y$j9T$$"))
        XCTAssertEqual(try Yescrypt.hash(secret("pw"), setting: emptySalt), emptySalt)
        XCTAssertFalse(Yescrypt.verify(secret("pw"), against: emptySalt, dummySetting: dummy))
    }

    func testFailingDummySettingIsAFailureNotAMatch() {
        XCTAssertFalse(Yescrypt.verify(secret(""), against: nil, dummySetting: ""))
        XCTAssertFalse(Yescrypt.verify(secret(""), against: "*", dummySetting: "*"))
        XCTAssertFalse(Yescrypt.verify(secret("x"), against: "", dummySetting: "$y$j9T$abcdefghijklmnopqrstu."))
    }

    func testHashNewMakesWellFormedCost5HashThatVerifies() throws {
        let h = try Yescrypt.hashNew(secret("Tr0ub4dor&3"), cost: 5)
        XCTAssertTrue(h.hasPrefix("$y$j9T$"), h)
        XCTAssertTrue(Yescrypt.isWellFormed(h), h)
        let parts = h.split(separator: "$", omittingEmptySubsequences: false)
        XCTAssertEqual(parts.count, 5)
        XCTAssertEqual(parts[4].count, 43)
        XCTAssertGreaterThanOrEqual(parts[3].count, 16, "salt of at least 96 bits")
        XCTAssertTrue(Yescrypt.verify(secret("Tr0ub4dor&3"), against: h, dummySetting: dummy))
        XCTAssertFalse(Yescrypt.verify(secret("Tr0ub4dor&4"), against: h, dummySetting: dummy))
        XCTAssertFalse(Yescrypt.verify(secret(""), against: h, dummySetting: dummy))
    }

    func testEverySaltIsFresh() throws {
        let a = try Yescrypt.hashNew(secret("same"), cost: 1)
        let b = try Yescrypt.hashNew(secret("same"), cost: 1)
        XCTAssertNotEqual(a, b)
        func salt(_ h: String) -> Substring { h.split(separator: "$", omittingEmptySubsequences: false)[3] }
        XCTAssertNotEqual(salt(a), salt(b))
        var settings: Set<String> = []
        for _ in 0..<50 { settings.insert(try Yescrypt.makeSetting(cost: 5)) }
        XCTAssertEqual(settings.count, 50)
        XCTAssertTrue(settings.allSatisfy { $0.hasPrefix("$y$j9T$") })
    }

    func testCostChangesTheParametersAndOutOfRangeCostIsRefused() throws {
        let one = try Yescrypt.makeSetting(cost: 1)
        let eleven = try Yescrypt.makeSetting(cost: 11)
        XCTAssertTrue(one.hasPrefix("$y$"))
        XCTAssertTrue(eleven.hasPrefix("$y$"))
        func params(_ s: String) -> Substring { s.split(separator: "$", omittingEmptySubsequences: false)[2] }
        XCTAssertNotEqual(params(one), params(eleven))
        XCTAssertNotEqual(params(one), "j9T")
        guard case .hashing? = caught({ () throws(PwdirError) in try Yescrypt.makeSetting(cost: 12) }) else {
            return XCTFail("cost 12 should be refused by crypt_gensalt_rn")
        }
    }

    func testPasswordsOverTheLimitNeverVerifyEvenIfTheyWouldMatch() throws {
        // An over-long password is replaced by the empty one before hashing (to spend the same
        // work), so a stored hash of the empty password is exactly what it "would match".
        let setting = try Yescrypt.makeSetting(cost: 1)
        let hashOfEmpty = try Yescrypt.hash(secret(""), setting: setting)
        XCTAssertTrue(Yescrypt.isWellFormed(hashOfEmpty))
        XCTAssertTrue(Yescrypt.verify(secret(""), against: hashOfEmpty, dummySetting: dummy), "control: the empty password matches")
        for n in [Yescrypt.maxPasswordBytes + 1, 1000, 4096] {
            XCTAssertFalse(Yescrypt.verify(SecretBytes(Array(repeating: 0x61, count: n)), against: hashOfEmpty, dummySetting: dummy), "\(n) bytes")
        }
        // a NUL inside would cut the password short as a C string: "correct horse\0…" must not
        // pass as "correct horse", nor "\0…" as the empty password
        XCTAssertFalse(Yescrypt.verify(secret(Self.vectorPassword + "\u{0}extra"), against: Self.libxcryptVector, dummySetting: dummy))
        XCTAssertFalse(Yescrypt.verify(secret("\u{0}"), against: hashOfEmpty, dummySetting: dummy))
        XCTAssertFalse(Yescrypt.verify(secret("\u{0}abc"), against: hashOfEmpty, dummySetting: dummy))
    }

    func testLongestPasswordLibxcryptHashesVerifies() throws {
        // libxcrypt's CRYPT_MAX_PASSPHRASE_SIZE is 512 including the NUL: 511 bytes is its longest
        let pw = SecretBytes(Array(repeating: 0x62, count: 511))
        let h = try Yescrypt.hashNew(pw, cost: 1)
        XCTAssertTrue(Yescrypt.verify(pw, against: h, dummySetting: dummy))
        XCTAssertFalse(Yescrypt.verify(SecretBytes(Array(repeating: 0x62, count: 510)), against: h, dummySetting: dummy))
    }

    func testIsWellFormed() {
        let h43 = String(repeating: "A", count: 43)
        XCTAssertTrue(Yescrypt.isWellFormed("$y$j9T$salt$" + h43))
        XCTAssertTrue(Yescrypt.isWellFormed("$y$" + String(repeating: "j", count: 32) + "$s$" + h43))
        XCTAssertFalse(Yescrypt.isWellFormed("$y$" + String(repeating: "j", count: 33) + "$s$" + h43))
        XCTAssertTrue(Yescrypt.isWellFormed("$y$j9T$" + String(repeating: "s", count: 86) + "$" + h43))
        XCTAssertFalse(Yescrypt.isWellFormed("$y$j9T$" + String(repeating: "s", count: 87) + "$" + h43))
        XCTAssertFalse(Yescrypt.isWellFormed("$y$j9T$salt$" + String(repeating: "A", count: 42)))
        XCTAssertFalse(Yescrypt.isWellFormed("$y$j9T$salt$" + String(repeating: "A", count: 44)))
        XCTAssertFalse(Yescrypt.isWellFormed("$y$$salt$" + h43))
        XCTAssertFalse(Yescrypt.isWellFormed("$y$j9T$$" + h43))
        XCTAssertFalse(Yescrypt.isWellFormed("$y$j9T$salt$" + h43 + "$"))
        XCTAssertFalse(Yescrypt.isWellFormed("$gy$j9T$salt$" + h43))
        XCTAssertFalse(Yescrypt.isWellFormed("$7$j9T$salt$" + h43))
        XCTAssertTrue(Yescrypt.isWellFormed("$y$./09azAZ$./09azAZ$" + String(repeating: "/", count: 43)))
        for c in ["+", "-", "_", "=", "é", " ", "\n", ":", "\u{0}"] {
            XCTAssertFalse(Yescrypt.isWellFormed("$y$j9T$sa\(c)lt$" + h43), c.debugDescription)
            XCTAssertFalse(Yescrypt.isWellFormed("$y$j9T$salt$" + String(repeating: "A", count: 42) + c), c.debugDescription)
            XCTAssertFalse(Yescrypt.isWellFormed("$y$j\(c)T$salt$" + h43), c.debugDescription)
        }
        XCTAssertEqual(Yescrypt.maxPasswordBytes, 511)
    }
}
