#if canImport(Glibc)
import Glibc
#endif

/// The audit trail: one JSON object a line (`AuditEvent`), appended and never rewritten, mode
/// 0600, root's. The module and the command both write it; syslog (authpriv) gets the same
/// events. Each line is one write(2) with O_APPEND, which the kernel never interleaves with
/// another, so no lock is taken: nothing a stopped process holds can hold up a login.
///
/// A change is recorded in two lines that share an id: "pending" before the change is made,
/// then how it ended. A writer killed in between leaves the first line, which `pwdir log` shows
/// as interrupted (the change may have been applied): a change and its record cannot part.
public struct AuditLog: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The file the settings name, else `audit.log` beside the directory.
    public init(settings: Settings, directoryPath: String) {
        path = settings.auditLog ?? FilePathText.folder(of: directoryPath) + "/audit.log"
    }

    /// Appends one line. Creates the file 0600 and root's; refuses a file others may write.
    public func append(_ event: AuditEvent) throws(PwdirError) {
        let fd: Int32
        do { fd = try Sys.open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600) } catch {
            if error.code == ELOOP { throw .unsafeFile(path: path, reason: "it is a symbolic link") }
            throw .system(error)
        }
        defer { Sys.close(fd) }
        do {
            var st = try Sys.fstat(fd, path)
            if st.st_size == 0 && (st.st_uid != 0 || st.st_gid != 0) && Sys.effectiveUID == 0 {
                try Sys.ownByRoot(fd, path)
                st.st_uid = 0
            }
            try FileSafety.check(st, path: path)
            try Sys.writeAll(fd, path, Array((event.jsonLine + "\n").utf8))
            try Sys.fsync(fd, path)
        } catch { throw PwdirError(error) }
    }

    /// Every line, oldest first (empty when there is no file yet).
    public func read() throws(PwdirError) -> [UInt8] {
        try FileSafety.read(path) ?? []
    }

    /// A fresh id for a pair of lines.
    public static func newID() -> String {
        let bytes = (try? randomBytes(6)) ?? []
        return bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
