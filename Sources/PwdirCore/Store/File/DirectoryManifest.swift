/// The directory's format 2: `users` names 256 shard files in the folder `users.d/`, and each
/// shard holds the users whose login hashes to it, in format 1's text (one user a line, sorted,
/// a counting trailer) under its own first line:
///
///     users                          users.d/07.31
///     pwdir-directory 2              pwdir-directory 2 shard 07
///     generation=31                  uid=ana<TAB>cn=Ana Lopez<TAB>…
///     00.1                           uid=mo<TAB>…
///     …  (256 lines, one a shard)    #end users=2
///     07.31
///     …
///     #end shards=256
///
/// A change rewrites only the shards it touches, as new files named by the new generation,
/// then replaces `users` (the commit: one rename); the shards of the previous version stay as
/// long as `users-` names them. A login's shard is the FNV-1a hash of its ASCII-lowercased
/// bytes, so two logins that differ only in letter case share a shard (and one shard's check
/// finds them). Parsing is strict: anything else is an error naming its line.
public struct DirectoryManifest: Equatable, Sendable {
    public static let header = "pwdir-directory 2"
    public static let shardCount = 256
    static let generationPrefix = "generation="
    static let trailer = "#end shards=256"

    /// Grows by one with every change; new shard files are named by it.
    public var generation: UInt64
    /// The file of each shard, in `users.d/`: "07.31" (shard 07, written at generation 31).
    public var files: [String]

    public init(generation: UInt64, files: [String]) {
        self.generation = generation
        self.files = files
    }

    /// An empty directory's: every shard written at generation 1.
    public static var initial: DirectoryManifest {
        DirectoryManifest(generation: 1, files: (0..<shardCount).map { fileName(shard: $0, generation: 1) })
    }

    /// The shard holding `login`.
    public static func shard(of login: String) -> Int {
        var login = login
        return login.withUTF8 { shard(ofBytes: UnsafeRawBufferPointer($0)) }
    }

    static func shard(ofBytes bytes: UnsafeRawBufferPointer) -> Int {
        var h = Checksum.offsetBasis
        for b in bytes { h = (h ^ UInt64(LoginName.foldASCII(b))) &* Checksum.prime }
        return Int(truncatingIfNeeded: (h ^ (h >> 32)) & UInt64(shardCount - 1))
    }

    public static func shardName(_ shard: Int) -> String {
        String(decoding: [hexDigits[shard >> 4], hexDigits[shard & 15]], as: UTF8.self)
    }

    public static func fileName(shard: Int, generation: UInt64) -> String {
        shardName(shard) + "." + String(generation)
    }

    /// The first line of shard `shard`'s file.
    public static func shardHeader(_ shard: Int) -> String { header + " shard " + shardName(shard) }

    // MARK: Text

    public func encode() -> [UInt8] {
        var out = Array((Self.header + "\n" + Self.generationPrefix + String(generation) + "\n").utf8)
        for f in files { out += f.utf8; out.append(0x0A) }
        out += (Self.trailer + "\n").utf8
        return out
    }

    /// Parses `users` of format 2; `path` names it in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(PwdirError) -> DirectoryManifest {
        var files: [String] = []
        files.reserveCapacity(shardCount)
        let generation = try scan(bytes, path: path) { _, line in files.append(String(decoding: line, as: UTF8.self)) }
        return DirectoryManifest(generation: generation, files: files)
    }

    /// The file of shard `k` in `users` of format 2, every line of which is checked as `decode`
    /// checks it (the login path: no other string is made).
    public static func file(ofShard k: Int, in bytes: [UInt8], path: String) throws(PwdirError) -> String {
        var name = ""
        _ = try scan(bytes, path: path) { shard, line in if shard == k { name = String(decoding: line, as: UTF8.self) } }
        return name
    }

    /// Checks `users` of format 2 line by line, calling `body` with each shard's line; returns
    /// the generation.
    private static func scan(_ bytes: [UInt8], path: String, _ body: (Int, ArraySlice<UInt8>) -> Void) throws(PwdirError) -> UInt64 {
        func corrupt(_ line: Int, _ why: String) -> PwdirError { .directoryCorrupt(path: path, line: line, reason: why) }
        guard bytes.last == 0x0A else { throw corrupt(bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }, "the file does not end with a newline (truncated?)") }
        var position = 0
        var number = 0
        /// The next line (without its newline), nil at the end.
        func nextLine() -> ArraySlice<UInt8>? {
            guard position < bytes.count else { return nil }
            var end = position
            while bytes[end] != 0x0A { end += 1 }
            defer { position = end + 1 }
            number += 1
            return bytes[position..<end]
        }
        guard let first = nextLine(), first.elementsEqual(header.utf8) else { throw corrupt(1, "not a pwdir directory of format 2 (the first line must be '\(header)')") }
        guard let second = nextLine(), second.starts(with: generationPrefix.utf8),
              let generation = parseDecimal(second.dropFirst(generationPrefix.utf8.count)) else {
            throw corrupt(2, "the second line must be '\(generationPrefix)N' (N from 1)")
        }
        for k in 0..<shardCount {
            guard let line = nextLine() else { throw corrupt(number, "it names \(k) shards, not \(shardCount) (truncated?)") }
            let i = line.startIndex
            guard line.count >= 4, line[i] == hexDigits[k >> 4], line[i + 1] == hexDigits[k & 15], line[i + 2] == UInt8(ascii: "."),
                  let written = parseDecimal(line.dropFirst(3)), written <= generation else {
                let name = shardName(k)
                throw corrupt(k + 3, "line \(k + 3) must name shard \(name)'s file, '\(name).N' with N from 1 to the generation \(generation)")
            }
            body(k, line)
        }
        guard let last = nextLine(), last.elementsEqual(trailer.utf8) else { throw corrupt(shardCount + 3, "the last line must be '\(trailer)'") }
        guard nextLine() == nil else { throw corrupt(shardCount + 4, "nothing may follow '\(trailer)'") }
        return generation
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Whether `bytes` start like a directory of format 2 (the rest is checked by `decode`).
    static func isFormat2(_ head: [UInt8]) -> Bool {
        head.starts(with: (header + "\n").utf8)
    }

    /// Digits without a leading zero, at most 19 (so the value fits).
    private static func parseDecimal(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 19, digits.first != UInt8(ascii: "0"),
              digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return digits.reduce(0) { $0 * 10 + UInt64($1 - 48) }
    }
}
