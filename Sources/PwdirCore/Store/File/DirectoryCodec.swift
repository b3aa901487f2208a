/// The directory's text format, version 1:
///
///     pwdir-directory 1
///     uid=ana<TAB>cn=Ana Lopez<TAB>mail=ana@example.org<TAB>userPassword={CRYPT}$y$…
///     uid=bo<TAB>…
///     #end users=2
///
/// UTF-8; one user a line, sorted by login (byte order) so one login can be found by binary
/// search; attributes `name=value` separated by TABs, `uid` first. In values, `%`, `:`, DEL and
/// every control character (TAB and newline among them) are written `%XX`, so no value can
/// break a field or a line. The last line counts the users, so a truncated file or one with
/// lines appended is noticed. Parsing is strict: anything else is an error naming its line.
public enum DirectoryCodec {
    public static let header = "pwdir-directory 1"
    static let trailerPrefix = "#end users="
    static let headerPrefix = "pwdir-directory "

    // MARK: Encoding

    /// The file of `records` (sorted here); `header` is a shard's first line in format 2.
    public static func encode(_ records: [UserRecord], header: String = header, sorted alreadySorted: Bool = false) -> [UInt8] {
        let sorted = alreadySorted ? records : records.sorted { $0.login.utf8.lexicographicallyPrecedes($1.login.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(64 + records.count * 160)
        out.append(contentsOf: header.utf8)
        out.append(0x0A)
        for r in sorted { encodeLine(r, into: &out) }
        out.append(contentsOf: trailerPrefix.utf8)
        out.append(contentsOf: String(records.count).utf8)
        out.append(0x0A)
        return out
    }

    static func encodeLine(_ r: UserRecord, into out: inout [UInt8]) {
        out.append(contentsOf: "uid=".utf8)
        appendUTF8(r.login, to: &out)
        // Borrowed, not copied: a copy of each attribute would retain and release its two
        // strings, a third of the whole write's time at a million users.
        r.attributes.withUnsafeBufferPointer { attributes in
            for i in attributes.indices {
                out.append(0x09)
                appendUTF8(attributes[i].name, to: &out)
                out.append(UInt8(ascii: "="))
                appendEscaped(attributes[i].value, to: &out)
            }
        }
        out.append(0x0A)
    }

    /// The bytes of `s`, copied at once (not one by one through the UTF-8 view).
    @inline(__always)
    private static func appendUTF8(_ s: String, to out: inout [UInt8]) {
        if s.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil {
            out.append(contentsOf: s.utf8)
        }
    }

    /// `value` with the bytes that could break a field or a line written `%XX`.
    @inline(__always)
    private static func appendEscaped(_ value: String, to out: inout [UInt8]) {
        func escaped(_ bytes: some Collection<UInt8>) {
            for b in bytes {
                if needsEscape(b) {
                    out.append(UInt8(ascii: "%"))
                    out.append(hexDigit(b >> 4))
                    out.append(hexDigit(b & 0xF))
                } else {
                    out.append(b)
                }
            }
        }
        let done: Void? = value.utf8.withContiguousStorageIfAvailable { bytes in
            if bytes.contains(where: needsEscape) { escaped(bytes) } else { out.append(contentsOf: bytes) }
        }
        if done == nil { escaped(value.utf8) }
    }

    private static func needsEscape(_ b: UInt8) -> Bool {
        b < 0x20 || b == 0x7F || b == UInt8(ascii: "%") || b == UInt8(ascii: ":")
    }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 55 + v }

    // MARK: Decoding

    /// Parses a whole directory (or, with `shard`, one shard of format 2, whose first line is
    /// `header` and whose every login must belong to it); every line is checked, logins must be
    /// strictly ascending.
    public static func decode(_ bytes: UnsafeRawBufferPointer, path: String, header: String = header, shard: Int? = nil) throws(PwdirError) -> [UserRecord] {
        let frame = try Frame(bytes, path: path, header: header)
        var records: [UserRecord] = []
        records.reserveCapacity(min(frame.userCount, bytes.count / 6))  // the trailer is not trusted yet; "uid=x\n" is 6 bytes
        var lineNumber = 1
        var pos = frame.bodyStart
        while pos < frame.bodyEnd {
            lineNumber += 1
            let end = nextNewline(bytes, from: pos)
            let r = try decodeLine(bytes, pos..<end, line: { [lineNumber] in lineNumber }, path: path)
            if let shard, DirectoryManifest.shard(of: r.login) != shard {
                throw .directoryCorrupt(path: path, line: lineNumber, reason: "login '\(r.login)' belongs in shard \(DirectoryManifest.shardName(DirectoryManifest.shard(of: r.login))), not in this one")
            }
            if let last = records.last, !last.login.utf8.lexicographicallyPrecedes(r.login.utf8) {
                let why = last.login == r.login ? "login '\(r.login)' appears twice" : "login '\(r.login)' is out of order (the file must be sorted by login)"
                throw .directoryCorrupt(path: path, line: lineNumber, reason: why)
            }
            records.append(r)
            pos = end + 1
        }
        if records.count != frame.userCount {
            throw .directoryCorrupt(path: path, line: lineNumber + 1, reason: "the last line counts \(frame.userCount) users but the file holds \(records.count)")
        }
        return records
    }

    public static func decode(_ bytes: [UInt8], path: String, header: String = header, shard: Int? = nil) throws(PwdirError) -> [UserRecord] {
        let result = bytes.withUnsafeBytes { b in Result { () throws(PwdirError) in try decode(b, path: path, header: header, shard: shard) } }
        return try result.get()
    }

    /// Finds one login by binary search, reading only the lines it probes (each checked as
    /// strictly as `decode` does, plus the header and the trailer). For the module's login path:
    /// the cost does not grow with the number of users.
    public static func lookup(_ login: String, in bytes: UnsafeRawBufferPointer, path: String, header: String = header) throws(PwdirError) -> UserRecord? {
        let frame = try Frame(bytes, path: path, header: header)
        let key = Array(login.utf8)
        var lo = frame.bodyStart, hi = frame.bodyEnd  // byte range of candidate lines
        while lo < hi {
            var start = lo + (hi - lo) / 2
            while start > lo && bytes[start - 1] != 0x0A { start -= 1 }
            let end = nextNewline(bytes, from: start)
            let probe = try loginOfLine(bytes, start..<end, path: path)
            if probe.elementsEqual(key) {
                try checkNeighbours(of: start..<end, key: key, in: bytes, frame: frame, path: path)
                return try decodeLine(bytes, start..<end, line: { lineNumber(bytes, at: start) }, path: path)
            }
            if probe.lexicographicallyPrecedes(key) { lo = end + 1 } else { hi = start }
        }
        return nil
    }

    /// Header and trailer of a directory: where the user lines are and how many there should be.
    struct Frame {
        var bodyStart = 0, bodyEnd = 0, userCount = 0

        init(_ bytes: UnsafeRawBufferPointer, path: String, header: String = DirectoryCodec.header) throws(PwdirError) {
            guard bytes.count > 0 else { throw .directoryCorrupt(path: path, line: 1, reason: "the file is empty (a directory starts with '\(header)')") }
            let firstEnd = nextNewline(bytes, from: 0)
            let first = bytes[0..<firstEnd]
            if !first.elementsEqual(header.utf8) {
                if first.starts(with: headerPrefix.utf8) {
                    throw .directoryCorrupt(path: path, line: 1, reason: "format '\(String(decoding: first, as: UTF8.self))' is not one this pwdir reads (it reads '\(header)')")
                }
                throw .directoryCorrupt(path: path, line: 1, reason: "not a pwdir directory (the first line must be '\(header)')")
            }
            guard bytes[bytes.count - 1] == 0x0A else {
                throw .directoryCorrupt(path: path, line: lineNumber(bytes, at: bytes.count), reason: "the file does not end with a newline (truncated?)")
            }
            var trailerStart = bytes.count - 1
            while trailerStart > 0 && bytes[trailerStart - 1] != 0x0A { trailerStart -= 1 }
            let trailer = bytes[trailerStart..<(bytes.count - 1)]
            guard trailerStart > firstEnd, trailer.starts(with: trailerPrefix.utf8),
                  let n = parseCount(trailer.dropFirst(trailerPrefix.utf8.count)) else {
                throw .directoryCorrupt(path: path, line: lineNumber(bytes, at: trailerStart), reason: "the last line must be '\(trailerPrefix)N' (truncated, or lines added after it?)")
            }
            bodyStart = firstEnd + 1
            bodyEnd = trailerStart
            userCount = n
        }
    }

    /// The lines around a match must hold smaller and greater logins: a duplicated login would
    /// otherwise let the search stop at whichever copy it probed (one may be locked).
    private static func checkNeighbours(of line: Range<Int>, key: [UInt8], in bytes: UnsafeRawBufferPointer, frame: Frame, path: String) throws(PwdirError) {
        func fail(_ at: Int, _ why: String) -> PwdirError { .directoryCorrupt(path: path, line: lineNumber(bytes, at: at), reason: why) }
        if line.lowerBound > frame.bodyStart {
            var start = line.lowerBound - 1
            while start > frame.bodyStart && bytes[start - 1] != 0x0A { start -= 1 }
            let previous = try loginOfLine(bytes, start..<(line.lowerBound - 1), path: path)
            if !previous.lexicographicallyPrecedes(key) {
                throw fail(start, previous.elementsEqual(key) ? "login '\(String(decoding: key, as: UTF8.self))' appears twice" : "logins are out of order (the file must be sorted by login)")
            }
        }
        if line.upperBound + 1 < frame.bodyEnd {
            let next = try loginOfLine(bytes, (line.upperBound + 1)..<nextNewline(bytes, from: line.upperBound + 1), path: path)
            if !key.lexicographicallyPrecedes(next) {
                throw fail(line.upperBound + 1, next.elementsEqual(key) ? "login '\(String(decoding: key, as: UTF8.self))' appears twice" : "logins are out of order (the file must be sorted by login)")
            }
        }
    }

    private static func parseCount(_ digits: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 48) }
    }

    static func nextNewline(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int {
        var i = from
        while i < bytes.count && bytes[i] != 0x0A { i += 1 }
        return i
    }

    /// 1-based number of the line holding byte `offset` (only on error paths: it counts).
    static func lineNumber(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        var n = 1
        for i in 0..<min(offset, bytes.count) where bytes[i] == 0x0A { n += 1 }
        return n
    }

    static func loginOfLine(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, path: String) throws(PwdirError) -> Slice<UnsafeRawBufferPointer> {
        let line = bytes[range]
        guard line.starts(with: "uid=".utf8) else {
            throw .directoryCorrupt(path: path, line: lineNumber(bytes, at: range.lowerBound), reason: "a user line must start with 'uid='")
        }
        let from = range.lowerBound + 4
        var to = from
        while to < range.upperBound && bytes[to] != 0x09 { to += 1 }
        return bytes[from..<to]
    }

    /// Parses one user line; `line` gives its number, only computed for an error.
    static func decodeLine(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, line: () -> Int, path: String) throws(PwdirError) -> UserRecord {
        func corrupt(_ reason: String) -> PwdirError { .directoryCorrupt(path: path, line: line(), reason: reason) }
        var fields: [Slice<UnsafeRawBufferPointer>] = []
        var start = range.lowerBound
        for i in range where bytes[i] == 0x09 {
            fields.append(bytes[start..<i])
            start = i + 1
        }
        fields.append(bytes[start..<range.upperBound])

        guard fields[0].starts(with: "uid=".utf8) else { throw corrupt("a user line must start with 'uid='") }
        guard let login = String(validating: fields[0].dropFirst(4), as: UTF8.self) else { throw corrupt("the login is not valid UTF-8") }
        do { try LoginName.validate(login) } catch { throw corrupt(error.message) }

        var attributes: [UserRecord.Attribute] = []
        attributes.reserveCapacity(fields.count - 1)
        var seen: Set<String> = []
        for field in fields.dropFirst() {
            guard let eq = field.firstIndex(of: UInt8(ascii: "=")) else { throw corrupt("attribute without '=' (fields are 'name=value' separated by TABs)") }
            let nameBytes = field[field.startIndex..<eq]
            guard isAttributeName(nameBytes) else { throw corrupt("bad attribute name '\(String(decoding: nameBytes, as: UTF8.self))'") }
            let name = String(decoding: nameBytes, as: UTF8.self)
            if name == UserRecord.Key.uid { throw corrupt("'uid' appears twice") }
            if !UserRecord.Key.multiValued.contains(name) {
                if seen.contains(name) { throw corrupt("attribute '\(name)' appears twice") }
                seen.insert(name)
            }
            guard let value = unescape(field[(eq + 1)...]) else { throw corrupt("attribute '\(name)' has a bad %-escape, a raw control character or invalid UTF-8") }
            attributes.append(.init(name, value))
        }
        return UserRecord(login: login, attributes: attributes)
    }

    private static func isAttributeName(_ s: Slice<UnsafeRawBufferPointer>) -> Bool {
        guard let first = s.first, s.count <= 64, isAlpha(first) else { return false }
        return s.allSatisfy { isAlpha($0) || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "-") }
    }

    private static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= 97 && (b | 0x20) <= 122 }

    private static func unescape(_ s: Slice<UnsafeRawBufferPointer>) -> String? {
        if !s.contains(where: { $0 == UInt8(ascii: "%") || $0 < 0x20 || $0 == 0x7F }) {
            return String(validating: s, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let b = s[i]
            if b < 0x20 || b == 0x7F { return nil }
            if b == UInt8(ascii: "%") {
                guard i + 2 < s.endIndex, let hi = hexValue(s[i + 1]), let lo = hexValue(s[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: return b - 48
        case 65...70: return b - 55
        case 97...102: return b - 87
        default: return nil
        }
    }
}
