import Foundation
import PwdirCore
import PwdirTestSupport
import XCTest

/// Decoders written here, independently of the code under test, to check what it encodes.
enum MailDecode {
    /// RFC 2045 quoted-printable: `=XX` escapes, `=` CRLF soft breaks, everything else literal.
    /// Returns nil on a malformed escape.
    static func quotedPrintable(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 0x30...0x39: return b - 0x30
            case 0x41...0x46: return b - 0x41 + 10
            default: return nil  // RFC 2045 wants upper case
            }
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "=") {
                if i + 1 < bytes.count, bytes[i + 1] == 0x0D {
                    guard i + 2 < bytes.count, bytes[i + 2] == 0x0A else { return nil }
                    i += 3  // soft line break
                    continue
                }
                guard i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) else { return nil }
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }

    /// The encoded words of an RFC 2047 header value (folded with CRLF + space); each word's
    /// bytes, decoded. nil when a token is not a `=?utf-8?B?…?=` word.
    static func encodedWords(_ value: String) -> [(word: String, bytes: [UInt8])]? {
        let unfolded = value.replacingOccurrences(of: "\r\n", with: "")
        var result: [(String, [UInt8])] = []
        for token in unfolded.split(separator: " ") {
            let word = String(token)
            guard word.hasPrefix("=?utf-8?B?"), word.hasSuffix("?="), word.count >= 12 else { return nil }
            let payload = String(word.dropFirst(10).dropLast(2))
            guard let data = Data(base64Encoded: payload) else { return nil }
            result.append((word, [UInt8](data)))
        }
        return result
    }

    /// Splits an encoded message into its header block (unfolded lines kept as they are) and body.
    static func split(_ message: [UInt8]) -> (headers: String, body: String)? {
        let text = String(decoding: message, as: UTF8.self)
        guard let r = text.range(of: "\r\n\r\n") else { return nil }
        return (String(text[..<r.lowerBound]), String(text[r.upperBound...]))
    }

    /// The value of header `name` (first occurrence), folded lines included.
    static func header(_ name: String, in headers: String) -> String? {
        let lines = headers.components(separatedBy: "\r\n")
        guard let i = lines.firstIndex(where: { $0.lowercased().hasPrefix(name.lowercased() + ":") }) else { return nil }
        var value = String(lines[i].dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
        var j = i + 1
        while j < lines.count, lines[j].hasPrefix(" ") || lines[j].hasPrefix("\t") {
            value += "\r\n" + lines[j]
            j += 1
        }
        return value
    }
}
