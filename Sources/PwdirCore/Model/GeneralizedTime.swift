/// LDAP GeneralizedTime in UTC, `YYYYMMDDHHMMSSZ`, as the password-policy attributes use.
public enum GeneralizedTime {
    public static func format(_ epoch: Int64) -> String {
        var days = epoch >= 0 ? epoch / 86400 : (epoch - 86399) / 86400
        let secs = epoch - days * 86400
        // civil-from-days (Howard Hinnant), proleptic Gregorian
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let yyyy = String(repeating: "0", count: max(0, 4 - String(y).count)) + String(y)
        return "\(yyyy)\(two(m))\(two(d))\(two(secs / 3600))\(two(secs % 3600 / 60))\(two(secs % 60))Z"
    }

    /// `YYYY-MM-DD HH:MM UTC`, for people.
    public static func readable(_ epoch: Int64) -> String {
        let c = Array(format(epoch))
        return "\(String(c[0..<4]))-\(String(c[4..<6]))-\(String(c[6..<8])) \(String(c[8..<10])):\(String(c[10..<12])) UTC"
    }

    /// Parses `YYYYMMDDHHMMSSZ`; nil for anything else.
    public static func parse(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        guard b.count == 15, b[14] == UInt8(ascii: "Z"), b[0..<14].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        func num(_ r: Range<Int>) -> Int64 { r.reduce(0) { $0 * 10 + Int64(b[$1] - 48) } }
        let y = num(0..<4), m = num(4..<6), d = num(6..<8), hh = num(8..<10), mm = num(10..<12), ss = num(12..<14)
        guard (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss < 60 else { return nil }
        // days-from-civil (Howard Hinnant)
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = m > 2 ? m - 3 : m + 9
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let epoch = days * 86400 + hh * 3600 + mm * 60 + ss
        return format(epoch) == s ? epoch : nil  // 31 April, 29 February 2023 and the like do not exist
    }
}
