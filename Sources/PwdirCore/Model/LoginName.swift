/// Login names: 1 to 64 of letters, digits, '.', '_', '-', '@', not starting with '-' or '.'.
/// ASCII only, so no two spellings can look alike and every name is safe in a file name, a
/// syslog line and the directory's fields.
public enum LoginName {
    public static let maxLength = 64

    /// Throws `.invalidLogin` with the reason, before any file is touched.
    public static func validate(_ name: String) throws(PwdirError) {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { throw .invalidLogin(name, reason: "it is empty") }
        if bytes.count > maxLength { throw .invalidLogin(name, reason: "it is longer than \(maxLength) characters") }
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: ".") {
            throw .invalidLogin(name, reason: "it starts with '\(Character(UnicodeScalar(bytes[0])))'")
        }
        for b in bytes where !isAllowed(b) {
            let shown = b < 0x20 || b >= 0x7F ? "byte 0x\(String(b, radix: 16))" : "'\(Character(UnicodeScalar(b)))'"
            throw .invalidLogin(name, reason: "it contains \(shown)")
        }
    }

    public static func isValid(_ name: String) -> Bool {
        do { try validate(name); return true } catch { return false }
    }

    /// Logins are matched exactly (as Unix logins are), but two that differ only in letter case
    /// look like one person: pwdir refuses to create the second.
    /// `name` with A-Z lowered (logins are ASCII): the key under which case twins meet.
    public static func folded(_ name: String) -> String {
        guard name.utf8.contains(where: { foldASCII($0) != $0 }) else { return name }
        return String(decoding: name.utf8.map(foldASCII), as: UTF8.self)
    }

    /// A-Z lowered, every other byte as it is.
    @inline(__always)
    public static func foldASCII(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b | 0x20 : b }

    public static func sameIgnoringCase(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { ($0 | 0x20) == ($1 | 0x20) || $0 == $1 }
    }

    static func isAllowed(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
             UInt8(ascii: "-"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }
}
