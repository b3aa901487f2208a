/// Self-service recovery: a one-time code mailed to the user's recovery address, typed at the
/// module's prompt. Only its yescrypt hash is stored; it is valid `recovery_ttl` seconds, single
/// use, at most `maxTries` tries, and a new one is made at most every `recovery_interval`
/// seconds. A code that checked out is *claimed* by the session that typed it (no other session
/// can use it) until that session stores the new password, or `claimSeconds` pass.
public struct RecoveryCode: Equatable, Sendable {
    public var hash: String
    public var sent: Int64
    public var expires: Int64
    public var tries: Int
    /// The session holding the code (0: none) and since when.
    public var claimNonce: UInt64
    public var claimTime: Int64

    public static let maxTries = 3
    /// The longest a code may live (the largest recovery_ttl accepted).
    public static let maxLifetime: Int64 = 7 * 86400
    /// How long a session that checked the code may take to choose the new password.
    public static let claimSeconds: Int64 = 600
    /// Unambiguous upper-case letters and digits: 32 symbols, 5 bits each; 12 of them.
    public static let alphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ".utf8)

    public init(hash: String, sent: Int64, expires: Int64, tries: Int, claimNonce: UInt64 = 0, claimTime: Int64 = 0) {
        self.hash = hash
        self.sent = sent
        self.expires = expires
        self.tries = tries
        self.claimNonce = claimNonce
        self.claimTime = claimTime
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

    /// True while the code may be typed: sent in the past, not expired, within its longest
    /// lifetime (a code stamped by a clock that was ahead is not valid longer), tries left, and
    /// not claimed by another session.
    public func isUsable(now: Int64) -> Bool {
        sent <= now && now < expires && expires - sent <= Self.maxLifetime && tries < Self.maxTries && !isClaimed(now: now)
    }

    /// Another session holds the code (and has not run out of time).
    public func isClaimed(now: Int64) -> Bool {
        claimNonce != 0 && claimTime <= now && now - claimTime < Self.claimSeconds
    }
}
