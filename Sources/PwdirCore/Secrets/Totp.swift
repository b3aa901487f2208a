import CPwdirOath

/// Time-based one-time codes (RFC 6238) as authenticator apps make them: HMAC-SHA1, 30-second
/// steps, 6 digits, a 160-bit key. The arithmetic is liboath's (`cpwdir_oath.c`); what is
/// here is the key's text form and the enrolment URI.
public enum Totp {
    public static let period: Int64 = 30
    public static let digits = 6
    /// 160 bits, as RFC 4226 recommends and authenticator apps expect.
    public static let keyBytes = 20
    /// The widest `totp_window` accepted: ten steps (five minutes) either side.
    public static let maxWindow = 10

    /// The step a time falls in.
    public static func step(at time: Int64) -> Int64 { time / period }

    /// A fresh key from the kernel CSPRNG.
    public static func newKey() throws(PwdirError) -> SecretBytes {
        var bytes = try randomBytes(keyBytes)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        return SecretBytes(bytes)
    }

    /// The code of `step`.
    public static func code(_ key: SecretBytes, step: Int64) throws(PwdirError) -> String {
        var out = [CChar](repeating: 0, count: digits + 1)
        let rc = key.withBytes { k in cpwdir_totp_code(k.baseAddress?.assumingMemoryBound(to: UInt8.self), k.count, step, &out) }
        guard rc == 0 else { throw .hashing("liboath could not compute a TOTP code (error \(rc))") }
        return String(decoding: out.prefix(digits).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public enum Match: Equatable, Sendable {
        /// The code of this step, which is after the last one used.
        case fresh(step: Int64)
        /// The code of a step already used (or before it): a replay.
        case used
        case none
    }

    /// Is `code` the code of a step within `window` steps of `now`, and after `lastStep`? Every
    /// step of the window is computed and compared whatever the answer.
    public static func match(_ code: SecretBytes, key: SecretBytes, now: Int64, window: Int, after lastStep: Int64) throws(PwdirError) -> Match {
        guard isCode(code) else { return .none }
        var matched: Int64 = 0
        let rc = key.withBytes { k in
            code.withCString { c in
                cpwdir_totp_match(k.baseAddress?.assumingMemoryBound(to: UInt8.self), k.count, now, UInt32(max(0, min(window, maxWindow))), lastStep, c, &matched)
            }
        }
        switch rc {
        case 1: return .fresh(step: matched)
        case 2: return .used
        case 0: return .none
        default: throw .hashing("liboath could not compute a TOTP code (error \(rc))")
        }
    }

    /// Six ASCII digits: what an authenticator shows (anything else is a recovery code or wrong).
    /// What was typed at `Verification code: `: six digits ("123 456", as some apps show it, is
    /// a code too) are a TOTP code; anything else is taken for a recovery code, as typed.
    public static func answer(_ typed: SecretBytes) -> (code: SecretBytes, isTotp: Bool) {
        let spaceless = typed.withBytes { b in SecretBytes(b.filter { $0 != UInt8(ascii: " ") }) }
        return isCode(spaceless) ? (spaceless, true) : (typed, isCode(typed))
    }

    public static func isCode(_ typed: SecretBytes) -> Bool {
        typed.count == digits && typed.withBytes { $0.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
    }

    /// The `otpauth://` URI authenticator apps read (Google's Key Uri Format): the label
    /// `ISSUER:LOGIN` (each part percent-encoded) and the issuer; SHA-1 is the default algorithm; the key in base32 without padding.
    public static func uri(key: SecretBytes, login: String, issuer: String) -> SecretBytes {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out += Array("otpauth://totp/".utf8) + percentEncoded(issuer) + [UInt8(ascii: ":")] + percentEncoded(login) + Array("?secret=".utf8)
        out += Base32.encode(key)
        out += Array("&issuer=".utf8) + percentEncoded(issuer) + Array("&digits=\(digits)&period=\(period)".utf8)
        defer { for i in out.indices { out[i] = 0 } }
        return SecretBytes(out)
    }

    /// RFC 3986 unreserved characters kept, every other byte as %XX.
    static func percentEncoded(_ text: String) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in text.utf8 {
            switch b {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"): out.append(b)
            default: out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return out
    }
}

/// RFC 4648 base32 (upper case, no padding written; padding, spaces and lower case read), the
/// form authenticator apps take keys in.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ secret: SecretBytes) -> [UInt8] {
        secret.withBytes { bytes in
            var out: [UInt8] = []
            out.reserveCapacity((bytes.count * 8 + 4) / 5)
            var buffer: UInt32 = 0
            var bits = 0
            for b in bytes {
                buffer = (buffer << 8) | UInt32(b)
                bits += 8
                while bits >= 5 {
                    out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 0x1F)])
                    bits -= 5
                }
            }
            if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 0x1F)]) }
            buffer = 0
            return out
        }
    }

    /// The bytes of base32 text, or nil when it holds anything else (or stray bits).
    public static func decode<C: Collection>(_ text: C) -> SecretBytes? where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 5 / 8 + 1)
        defer { for i in out.indices { out[i] = 0 } }
        var buffer: UInt32 = 0
        var bits = 0
        var padding = false
        for c in text {
            if c == UInt8(ascii: " ") { continue }
            if c == UInt8(ascii: "=") { padding = true; continue }
            guard !padding else { return nil }
            let v: UInt8
            switch c {
            case 0x41...0x5A: v = c - 0x41
            case 0x61...0x7A: v = c - 0x61
            case 0x32...0x37: v = c - 0x32 + 26
            default: return nil
            }
            buffer = (buffer << 5) | UInt32(v)
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        // At most 4 bits left over, all zero (RFC 4648 §3.5: canonical encoding).
        guard bits < 5, buffer & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        buffer = 0
        return SecretBytes(out)
    }
}
