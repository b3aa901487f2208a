

/// Random passwords for administrators to hand out.
public enum PasswordGenerator {
    /// Letters and digits without the look-alikes 0 O o 1 l I: 56 symbols, 5.8 bits each.
    public static let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789".utf8)
    static let bitsPerSymbol = 5.807  // log2(56), rounded down

    /// Length needed for `bits` of entropy, and never below `minLength`.
    public static func length(bits: Int, minLength: Int) -> Int {
        var n = 1
        while Double(n) * bitsPerSymbol < Double(bits) { n += 1 }
        return max(n, minLength)
    }

    /// A password from the kernel CSPRNG (getrandom) with at least `bits` bits of entropy and
    /// `minLength` characters, holding a lower-case letter, an upper-case letter and a digit
    /// (so it passes class-counting policies; the entropy counted is that of the whole draw,
    /// less the few draws rejected for a missing class).
    public static func generate(bits: Int, minLength: Int) throws(PwdirError) -> SecretBytes {
        let n = length(bits: bits + 1, minLength: minLength)
        var out = [UInt8](repeating: 0, count: n)
        defer { out.withUnsafeMutableBytes { cpwdirWipe($0) } }
        while true {
            var filled = 0
            while filled < n {
                var pool = try randomBytes(64)
                defer { pool.withUnsafeMutableBytes { cpwdirWipe($0) } }
                // 224 = 4 × 56: rejecting bytes at or above it keeps every symbol equally likely
                for b in pool where b < 224 && filled < n {
                    out[filled] = alphabet[Int(b) % alphabet.count]
                    filled += 1
                }
            }
            let lower = out.contains { $0 >= 97 && $0 <= 122 }
            let upper = out.contains { $0 >= 65 && $0 <= 90 }
            let digit = out.contains { $0 >= 48 && $0 <= 57 }
            if lower && upper && digit { return SecretBytes(out) }
        }
    }
}
