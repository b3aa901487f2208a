/// Mail addresses as pwdir accepts them: one plain `local@domain`, no display name, no spaces,
/// no control characters (so no header can be injected through one).
public enum MailAddress {
    public static func validate(_ address: String, field: String) throws(PwdirError) {
        let bytes = Array(address.utf8)
        func bad(_ reason: String) -> PwdirError { .invalidValue(field: field, reason: "'\(PwdirError.printable(address))' \(reason)") }
        if bytes.isEmpty || bytes.count > 254 { throw bad("must be 1 to 254 characters") }
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")), at > 0, at < bytes.count - 1 else {
            throw bad("is not an address of the form name@domain")
        }
        for b in bytes where !isAllowed(b) {
            throw bad("contains a character not allowed in an address")
        }
        if bytes[..<at].contains(UInt8(ascii: "@")) { throw bad("contains more than one '@'") }
        let domain = bytes[(at + 1)...]
        if !domain.contains(UInt8(ascii: ".")) && domain != Array("localhost".utf8)[...] {
            throw bad("has no dot in its domain")
        }
    }
}

extension MailAddress {
    /// Printable ASCII but for space and `<>()[]\,;:"`.
    static func isAllowed(_ b: UInt8) -> Bool {
        switch b {
        case 0...0x20, 0x7F...0xFF: return false
        case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"),
             UInt8(ascii: "\\"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "\""): return false
        default: return true
        }
    }

    /// `n***@example.org`: enough for an administrator to recognise, not to harvest.
    public static func masked(_ address: String) -> String {
        guard let at = address.lastIndex(of: "@"), at > address.startIndex else { return "***" }
        return String(address[address.startIndex]) + "***" + address[at...]
    }
}
