/// JSON written by hand where the core has no encoder (the module links no Foundation): the
/// audit trail's lines and systemd's userdb records.
enum JSONText {
    /// `s` as a JSON string, quotes included: RFC 8259 escaping, and U+2028 and U+2029 too
    /// (some readers take them for line ends).
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F || u.value == 0x2028 || u.value == 0x2029 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// `{"name":value,…}` in the order given; each value is JSON text already.
    static func object(_ fields: [(name: String, value: String)]) -> String {
        "{" + fields.map { "\"\($0.name)\":\($0.value)" }.joined(separator: ",") + "}"
    }
}
