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

    /// The seal as written: one line, "pwdir-seal 1", the seven numbers in decimal and the
    /// FNV-1a of what comes before it, separated by spaces, padded with spaces to 127 bytes and
    /// a newline. One version has one encoding, so a reader compares bytes: a torn, foreign or
    /// stale seal differs from what the current version's seal would be.
    var bytes: [UInt8] {
        var line = Array(Self.magic.utf8)
        line.reserveCapacity(Self.size)
        for n in fields { line.append(0x20); Self.appendDecimal(n, to: &line) }
        let sum = Checksum.fnv1a(line)
        line.append(0x20)
        Self.appendDecimal(sum, to: &line)
        line += [UInt8](repeating: 0x20, count: Self.size - 1 - line.count) + [0x0A]
        return line
    }

    static func appendDecimal(_ n: UInt64, to line: inout [UInt8]) {
        var digits: [UInt8] = []
        var n = n
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(n % 10))
            n /= 10
        } while n > 0
        line += digits.reversed()
    }

    /// Whether the seal at `sealPath` names the version described by `st`. Format 2 keeps one
    /// seal per shard, `slot` k at byte k × 128.
    static func matches(_ st: stat, sealPath: String, slot: Int = 0) -> Bool {
        guard let (fd, sst) = try? FileSafety.openChecked(sealPath) else { return false }
        defer { Sys.close(fd) }
        guard sst.st_size >= (slot + 1) * size, let bytes = try? Sys.pread(fd, sealPath, count: size, offset: slot * size) else { return false }
        return bytes == DirectorySeal(st).bytes
    }

    /// Seals the version described by `st` (best effort: a seal that cannot be written only
    /// means the next reader checks the whole file again).
    static func write(_ st: stat, sealPath: String, slot: Int = 0) {
        do {
            let fd = try Sys.open(sealPath, O_WRONLY | O_CREAT, 0o600)
            defer { Sys.close(fd) }
            let sst = try Sys.fstat(fd, sealPath)
            guard (sst.st_mode & S_IFMT) == S_IFREG else { return }
            if sst.st_uid != 0 || (sst.st_mode & 0o7777) != 0o600 {
                try Sys.fchmod(fd, sealPath, 0o600)
                try Sys.ownByRoot(fd, sealPath)
            }
            try Sys.pwrite(fd, sealPath, DirectorySeal(st).bytes, offset: slot * size)
        } catch {}
    }
}
