#if canImport(Glibc)
import Glibc
#endif

/// The tally format before version 2 (pwdir 0.8): text lines, rewritten whole.
///
///     pwdir-tally 1
///     failure=1800000000
///     locked=1800000004
///     code=$y$…  codeSent=…  codeExpires=…  codeTries=…   (one line each)
///
/// Read once, when an account's tally is first opened after an upgrade, and replaced by a
/// version-2 file holding the same failures, lock and recovery code, so an upgrade neither locks
/// every account that ever failed (a size that is not 4096 would count as damage) nor forgets a
/// lock. Anything else is left to the damage checks.
enum TallyVersion1 {
    static let header = "pwdir-tally 1\n"

    /// The tally in an open version-1 file (checked as every tally is: a regular file, root's or
    /// ours, mode 0600), or nil when it is not one.
    static func migrating(_ fd: Int32, path: String) -> Tally? {
        guard let st = try? Sys.fstat(fd, path), (st.st_mode & S_IFMT) == S_IFREG,
              st.st_uid == 0 || st.st_uid == Sys.effectiveUID, st.st_mode & 0o077 == 0,
              st.st_size > 0, Int(st.st_size) < TallyCodec.fileSize,
              let bytes = try? Sys.pread(fd, path, count: Int(st.st_size), offset: 0) else { return nil }
        return decode(bytes)
    }

    static func decode(_ bytes: [UInt8]) -> Tally? {
        guard bytes.starts(with: header.utf8), bytes.last == 0x0A,
              let text = String(validating: bytes, as: UTF8.self) else { return nil }
        var tally = Tally()
        var code: String?, sent: Int64?, expires: Int64?, tries: Int?
        for line in text.split(separator: "\n").dropFirst() {
            guard let eq = line.firstIndex(of: "=") else { return nil }
            let key = line[..<eq], value = String(line[line.index(after: eq)...])
            switch key {
            case "failure": guard let t = Int64(value), TallyCodec.isTime(t) else { return nil }; tally.attempts.append(.init(time: t))
            case "locked": guard let t = Int64(value), TallyCodec.isTime(t) else { return nil }; tally.lockedTime = t
            case "code": guard Yescrypt.isWellFormed(value) else { return nil }; code = value
            case "codeSent": sent = Int64(value)
            case "codeExpires": expires = Int64(value)
            case "codeTries": tries = Int(value)
            default: return nil
            }
        }
        if let code, let sent, let expires, let tries, TallyCodec.isTime(sent), TallyCodec.isTime(expires),
           (0...Int(RecoveryCode.maxTries)).contains(tries) {
            tally.recovery = RecoveryCode(hash: code, sent: sent, expires: expires, tries: tries)
        } else if code != nil || sent != nil || expires != nil || tries != nil {
            return nil
        }
        // Version 2 keeps the newest 64 one by one and counts the rest.
        if tally.attempts.count > Tally.capacity {
            let older = tally.attempts.dropLast(Tally.capacity)
            tally.overflow = older.count
            tally.overflowNewest = older.last!.time
            tally.attempts = Array(tally.attempts.suffix(Tally.capacity))
        }
        return tally
    }
}
