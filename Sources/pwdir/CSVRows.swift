/// RFC 4180 records of a UTF-8 file, read from its bytes (a million rows in well under a
/// second; CSV.swift's reader, which walks UTF-16, took most of an import's time). Fields are
/// separated by commas and records by LF or CRLF; a field in double quotes may hold commas,
/// line ends and `""` for a quote. A quote left open runs to the end of the file; text after a
/// closing quote (`"Ann" x`) is the record's `problem`. Each record says on which line it
/// starts.
struct CSVRows: Sequence, IteratorProtocol {
    struct Record {
        var line: Int
        var fields: [String]
        var problem: String?
    }

    private let bytes: [UInt8]
    private var position = 0
    private var line = 1

    /// `bytes` must be valid UTF-8 (checked by the caller), without a BOM.
    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func next() -> Record? {
        guard position < bytes.count else { return nil }
        var record = Record(line: line, fields: [], problem: nil)
        var field: [UInt8] = []
        while true {
            field.removeAll(keepingCapacity: true)
            if position < bytes.count && bytes[position] == UInt8(ascii: "\"") {
                position += 1
                while position < bytes.count {
                    let b = bytes[position]
                    if b == UInt8(ascii: "\"") {
                        if position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "\"") {
                            field.append(b)
                            position += 2
                            continue
                        }
                        position += 1
                        break
                    }
                    if b == 0x0A { line += 1 }
                    field.append(b)
                    position += 1
                }
                // After the closing quote: a comma, the end of the record, or a problem.
                if position < bytes.count && !isSeparator(position) {
                    record.problem = record.problem ?? "text after a closing quote (a quote inside a field is written \"\")"
                    while position < bytes.count && !isSeparator(position) {
                        field.append(bytes[position])
                        position += 1
                    }
                }
                record.fields.append(String(decoding: field, as: UTF8.self))
            } else {
                let start = position
                while position < bytes.count && !isSeparator(position) { position += 1 }
                record.fields.append(String(decoding: bytes[start..<position], as: UTF8.self))
            }
            if position >= bytes.count { return record }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            // The end of the record: CRLF or LF.
            position += bytes[position] == 0x0D ? 2 : 1
            line += 1
            return record
        }
    }

    /// A comma, LF, or CR followed by LF.
    private func isSeparator(_ i: Int) -> Bool {
        let b = bytes[i]
        return b == UInt8(ascii: ",") || b == 0x0A || (b == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A)
    }
}
