/// Self-service recovery: a one-time code mailed to the user's recovery address, typed at the
/// module's prompt. Only its yescrypt hash is stored; it is valid `recovery_ttl` seconds,
/// single use, at most `maxTries` tries, and a new one is made at most every
/// `recovery_interval` seconds.
public struct RecoveryCode: Equatable, Sendable {
    public var hash: String
    public var sent: Int64
    public var expires: Int64
    public var tries: Int

    public static let maxTries = 3
    /// Unambiguous upper-case letters and digits: 32 symbols, 5 bits each; 12 of them.
    public static let alphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ".utf8)

    public init(hash: String, sent: Int64, expires: Int64, tries: Int) {
        self.hash = hash
        self.sent = sent
        self.expires = expires
        self.tries = tries
    }

    /// A fresh code from the kernel CSPRNG, as typed: `ABCD-EFGH-JKLM` (60 bits).
    public static func generate() throws(PwdirError) -> SecretBytes {
        var out: [UInt8] = []
        out.reserveCapacity(16)  // no reallocation leaves a partial copy behind
        var random = try randomBytes(12)
        defer { for i in random.indices { random[i] = 0 } }
        for (i, b) in random.enumerated() {
            if i > 0 && i % 4 == 0 { out.append(UInt8(ascii: "-")) }
            out.append(alphabet[Int(b & 0x1F)])  // 256 is a multiple of 32: uniform
        }
        defer { for i in out.indices { out[i] = 0 } }
        return SecretBytes(out)
    }

    /// What the user typed, as stored: upper case, without spaces and dashes.
    public static func normalize(_ typed: SecretBytes) -> SecretBytes {
        var out: [UInt8] = []
        out.reserveCapacity(typed.count)
        typed.withBytes { bytes in
            for b in bytes where b != UInt8(ascii: "-") && b != UInt8(ascii: " ") {
                out.append(b >= 97 && b <= 122 ? b - 32 : b)
            }
        }
        defer { for i in out.indices { out[i] = 0 } }
        return SecretBytes(out)
    }

    public func isUsable(now: Int64) -> Bool { now < expires && tries < Self.maxTries }
}
