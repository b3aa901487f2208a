import CPwdirCrypt
import CPwdirSys

/// yescrypt through libxcrypt, as pam_unix's passverify.c does it: crypt_gensalt_rn("$y$", cost),
/// crypt_rn with a heap crypt_data wiped afterwards, constant-time comparison. A stored value
/// that is not a well-formed `$y$` hash never matches; a crypt failure is a failure.
public enum Yescrypt {
    /// Longest password accepted, in bytes; longer answers are refused after the same work.
    /// libxcrypt's limit (CRYPT_MAX_PASSPHRASE_SIZE, 512) counts the terminating NUL.
    public static let maxPasswordBytes = 511

    /// A fresh setting (`$y$…$salt`) at `cost`.
    public static func makeSetting(cost: Int) throws(PwdirError) -> String {
        guard (1...11).contains(cost) else { throw .hashing("yescrypt cost \(cost) is outside 1 to 11") }
        var buf = [CChar](repeating: 0, count: 128)
        let rc = "$y$".withCString { cpwdir_crypt_gensalt($0, UInt(cost), &buf, Int32(buf.count)) }
        guard rc == 0 else { throw .hashing("crypt_gensalt_rn refused cost \(cost)") }
        let setting = String(cBuffer: buf)
        guard setting.hasPrefix("$y$") else { throw .hashing("libxcrypt did not return a yescrypt setting") }
        return setting
    }

    /// Hashes `password` with `setting` (a fresh setting or a stored hash).
    public static func hash(_ password: SecretBytes, setting: String) throws(PwdirError) -> String {
        var out = [CChar](repeating: 0, count: cpwdir_crypt_output_size())
        let rc = password.withCString { phrase in setting.withCString { cpwdir_crypt(phrase, $0, &out, out.count) } }
        guard rc == 0 else { throw .hashing("crypt_rn failed") }
        let hashed = String(cBuffer: out)
        cpwdir_wipe(&out, out.count)
        return hashed
    }

    /// A new hash of `password` at `cost`.
    public static func hashNew(_ password: SecretBytes, cost: Int) throws(PwdirError) -> String {
        let h = try hash(password, setting: try makeSetting(cost: cost))
        guard isWellFormed(h) else { throw .hashing("libxcrypt returned a malformed hash") }
        return h
    }

    /// True for `$y$PARAMS$SALT$HASH` with the characters and lengths yescrypt produces.
    /// One pass over the bytes (it runs on every login): after "$y$", three fields of crypt
    /// characters separated by "$", of 1-32 (params), 1-86 (salt) and exactly 43 (hash) bytes.
    public static func isWellFormed(_ stored: String) -> Bool {
        var stored = stored
        return stored.withUTF8 { isWellFormed(bytes: $0) }
    }

    static func isWellFormed(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count > 3, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "y"), bytes[2] == UInt8(ascii: "$") else { return false }
        let longest = (32, 86, 43)
        var field = 0, length = 0
        for b in bytes[3...] {
            if b == UInt8(ascii: "$") {
                guard field < 2, length >= 1 else { return false }
                field += 1
                length = 0
            } else {
                guard isCryptChar(b) else { return false }
                length += 1
                guard length <= (field == 0 ? longest.0 : field == 1 ? longest.1 : longest.2) else { return false }
            }
        }
        return field == 2 && length == 43
    }

    static func isCryptChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    /// Checks `password` against `stored`, always spending exactly one yescrypt hash: a
    /// missing, malformed or locked stored value is replaced by `dummySetting` (a setting of
    /// the same cost) and the answer is false. An over-long password also costs one hash.
    public static func verify(_ password: SecretBytes, against stored: String?, dummySetting: String) -> Bool {
        let usable = stored.map(isWellFormed) ?? false
        let setting = usable ? stored! : dummySetting
        let tooLong = password.count > maxPasswordBytes || password.containsNUL
        let probe = tooLong ? SecretBytes(copying: nil, count: 0) : password
        guard let computed = try? hash(probe, setting: setting) else { return false }
        let same = constantTimeEqual(computed, setting)
        return usable && !tooLong && same
    }
}
