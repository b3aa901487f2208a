#if canImport(Glibc)
import Glibc
#endif

/// `users.seal`: which version of the directory was last checked whole. The module finds a user
/// by binary search and reads only the lines it probes, so on its own it cannot see a corrupt
/// file the command rejects (a login twice, far from its twin; lines out of order) — one copy
/// of a locked user could let them in. The seal closes that gap at no cost per login: every
/// writer seals the version it wrote (its device, inode, size, mtime and ctime, which any later
/// change to the file alters), and a reader that finds the seal does not match the file
/// checks the whole file as strictly as the command does, once, then seals it. So the module
/// trusts its search only on a version that passed the command's whole check.
///
/// The seal is 128 bytes written in place with one pwrite (no temp file, no new block after the
/// first); a torn or foreign seal fails its checksum and only costs one whole check.
struct DirectorySeal: Equatable {
    static let size = 128
    static let magic = "pwdir-seal 1"
    let fields: [UInt64]

    init(_ st: stat) {
        fields = [UInt64(st.st_dev), UInt64(st.st_ino), UInt64(st.st_size),
                  UInt64(bitPattern: Int64(st.st_mtim.tv_sec)), UInt64(st.st_mtim.tv_nsec),
                  UInt64(bitPattern: Int64(st.st_ctim.tv_sec)), UInt64(st.st_ctim.tv_nsec)]
    }

    private init(fields: [UInt64]) { self.fields = fields }

    var bytes: [UInt8] {
        let body = ([Self.magic] + fields.map { String($0) }).joined(separator: " ")
        var line = Array((body + " " + String(Self.checksum(body))).utf8)
        line += [UInt8](repeating: 0x20, count: Self.size - 1 - line.count) + [0x0A]
        return line
    }

    /// The seal in `bytes`, or nil when they are not a whole, intact seal.
    static func decode(_ bytes: [UInt8]) -> DirectorySeal? {
        guard bytes.count == size, bytes.last == 0x0A else { return nil }
        let words = String(decoding: bytes.dropLast(), as: UTF8.self).split(separator: " ")
        guard words.count == 10, words[0] == "pwdir-seal", words[1] == "1" else { return nil }
        let body = words[0..<9].joined(separator: " ")
        guard let sum = UInt64(words[9]), sum == checksum(body) else { return nil }
        let numbers = words[2..<9].compactMap { UInt64($0) }
        return numbers.count == 7 ? DirectorySeal(fields: numbers) : nil
    }

    static func checksum(_ text: String) -> UInt64 { Checksum.fnv1a(text.utf8) }

    /// Whether the seal at `sealPath` names the version described by `st`.
    static func matches(_ st: stat, sealPath: String) -> Bool {
        guard let (fd, sst) = try? FileSafety.openChecked(sealPath) else { return false }
        defer { Sys.close(fd) }
        guard sst.st_size == size, let bytes = try? Sys.pread(fd, sealPath, count: size, offset: 0) else { return false }
        return decode(bytes) == DirectorySeal(st)
    }

    /// Seals the version described by `st` (best effort: a seal that cannot be written only
    /// means the next reader checks the whole file again).
    static func write(_ st: stat, sealPath: String) {
        do {
            let fd = try Sys.open(sealPath, O_WRONLY | O_CREAT, 0o600)
            defer { Sys.close(fd) }
            let sst = try Sys.fstat(fd, sealPath)
            guard (sst.st_mode & S_IFMT) == S_IFREG else { return }
            if sst.st_uid != 0 || (sst.st_mode & 0o7777) != 0o600 {
                try Sys.fchmod(fd, sealPath, 0o600)
                try Sys.ownByRoot(fd, sealPath)
            }
            try Sys.pwrite(fd, sealPath, DirectorySeal(st).bytes, offset: 0)
        } catch {}
    }
}
