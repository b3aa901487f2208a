import Foundation
import PwdirCore

/// One plain-text mail, as every Unix MTA accepts it on `sendmail -t -i`'s stdin: RFC 5322
/// headers (Date, Message-ID, From, To, Subject — RFC 2047-encoded when not ASCII —,
/// MIME-Version), `text/plain; charset=utf-8` in quoted-printable. Addresses are validated
/// and no header value may hold CR or LF, so nothing can be injected.
public struct MailMessage: Sendable {
    public var from: String
    public var to: String
    public var subject: String
    public var body: String

    public init(from: String, to: String, subject: String, body: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
    }

    /// The bytes to hand to the MTA.
    public func encoded(date: Int64, host: String, messageID: String? = nil) throws(PwdirError) -> [UInt8] {
        try MailAddress.validate(from, field: "mail_from")
        try MailAddress.validate(to, field: "recipient")
        if subject.contains(where: { $0 == "\r" || $0 == "\n" }) || subject.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .invalidValue(field: "subject", reason: "a mail subject may not hold control characters")
        }
        let id = messageID ?? Self.newMessageID(host: host, date: date)
        var lines = [
            "Date: \(Self.rfc5322Date(date))",
            "Message-ID: <\(id)>",
            "From: \(from)",
            "To: \(to)",
            "Subject: \(Self.encodeHeaderWords(subject))",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "Auto-Submitted: auto-generated",
            "",
        ]
        lines.append(Self.quotedPrintable(body))
        return Array(lines.joined(separator: "\r\n").utf8) + [0x0D, 0x0A]
    }

    /// `Sat, 21 Nov 2026 18:20:00 +0000`, without locale.
    public static func rfc5322Date(_ epoch: Int64) -> String {
        let g = Array(GeneralizedTime.format(epoch))
        let days = epoch >= 0 ? epoch / 86400 : (epoch - 86399) / 86400
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = months[Int(String(g[4..<6]))! - 1]
        let day = Int(String(g[6..<8]))!
        return "\(weekday), \(day) \(month) \(String(g[0..<4])) \(String(g[8..<10])):\(String(g[10..<12])):\(String(g[12..<14])) +0000"
    }

    static func newMessageID(host: String, date: Int64) -> String {
        let random = (try? randomBytes(12)) ?? []
        let hex = random.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let safeHost = host.filter { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }
        return "\(date).\(hex)@\(safeHost.isEmpty ? "localhost" : safeHost)"
    }

    /// RFC 2047 `=?utf-8?B?…?=` words (each at most 75 characters, never splitting a
    /// character) when `text` is not plain printable ASCII.
    public static func encodeHeaderWords(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) && !text.contains("=?") { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in text.unicodeScalars {  // RFC 2047 allows splitting between scalars
            let bytes = Array(String(scalar).utf8)
            // 36 bytes of UTF-8 give 48 base64 characters + 12 of framing = 60, so even the
            // first word fits a 76-character line after "Subject: ".
            if chunk.count + bytes.count > 36 {
                words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    /// Quoted-printable (RFC 2045) with CRLF line ends and soft breaks before 76 characters.
    public static func quotedPrintable(_ text: String) -> String {
        var out: [String] = []
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            var encoded = ""
            var width = 0
            let bytes = Array(line.utf8)
            for (i, b) in bytes.enumerated() {
                let isLast = i == bytes.count - 1
                let plain = (b >= 33 && b <= 126 && b != UInt8(ascii: "=")) || ((b == 0x20 || b == 0x09) && !isLast)
                let piece = plain ? String(UnicodeScalar(b)) : "=" + String(format: "%02X", b)
                if width + piece.count > 75 {
                    encoded += "=\r\n"
                    width = 0
                }
                encoded += piece
                width += piece.count
            }
            out.append(encoded)
        }
        return out.joined(separator: "\r\n")
    }
}
