import Foundation
import PwdirCore

/// What the command writes: results on stdout (text, or one JSON document), errors and warnings
/// as one line on stderr starting `pwdir: `.
enum Output {
    /// Prints `error` as one line and exits with its status (or `status`).
    static func fail(_ error: PwdirError, status: Int32? = nil) -> Never {
        var line = error.message
        if line.hasPrefix("Error: ") { line.removeFirst(7) }
        FileHandle.standardError.write(Data("pwdir: \(line.split(separator: "\n").joined(separator: "; "))\n".utf8))
        exit(status ?? error.exitStatus)
    }

    static func warn(_ text: String) {
        FileHandle.standardError.write(Data("pwdir: warning: \(text)\n".utf8))
    }

    /// One JSON document on stdout.
    static func json<T: Encodable>(_ value: T) throws(PwdirError) {
        let encoder = jsonEncoder()
        do {
            let data = try encoder.encode(value)
            FileHandle.standardOutput.write(data)
            FileHandle.standardOutput.write(Data("\n".utf8))
        } catch { throw .invalidValue(field: "JSON output", reason: "\(error)") }
    }

    /// The encoder of every JSON document pwdir prints.
    static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A value shown in text output: characters that could move a terminal's cursor, reorder
    /// text or hide in it are escaped.
    static func shown(_ s: String) -> String { PwdirError.printable(s, limit: 1000) }
}
