#if canImport(Glibc)
import Glibc
#endif
import CPwdirSys

/// The audit trail: one JSON object a line, appended (O_APPEND, under an exclusive lock on the
/// file) and never rewritten, mode 0600. The module and the command both write it; syslog
/// (authpriv) gets the same events. Never a password, a hash or a code.
public struct AuditEvent: Equatable, Sendable {
    public var time: Int64
    /// Who acted: "root", a directory login (through sudo), or "pam:SERVICE" for the module.
    public var actor: String
    public var action: String
    public var target: String?
    /// ok, refused or failed.
    public var result: String
    public var detail: String?

    public init(time: Int64, actor: String, action: String, target: String?, result: String, detail: String? = nil) {
        self.time = time
        self.actor = actor
        self.action = action
        self.target = target
        self.result = result
        self.detail = detail
    }

    /// `{"time":"…","actor":"…",…}` with RFC 8259 escaping.
    public var jsonLine: String {
        var fields = [("time", Self.iso(time)), ("actor", actor), ("action", action)]
        if let target { fields.append(("target", target)) }
        fields.append(("result", result))
        if let detail { fields.append(("detail", detail)) }
        return "{" + fields.map { "\"\($0.0)\":\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// The same event as one syslog line.
    public var syslogLine: String {
        "\(action) \(result)" + (target.map { " target=\($0)" } ?? "") + " actor=\(actor)" + (detail.map { " (\($0))" } ?? "")
    }

    public static func iso(_ epoch: Int64) -> String {
        let c = Array(GeneralizedTime.format(epoch))
        return "\(String(c[0..<4]))-\(String(c[4..<6]))-\(String(c[6..<8]))T\(String(c[8..<10])):\(String(c[10..<12])):\(String(c[12..<14]))Z"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F || u.value == 0x2028 || u.value == 0x2029 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}

public struct AuditLog: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The file the settings name, else `audit.log` beside the directory.
    public init(settings: Settings, directory: DirectoryFile) {
        path = settings.auditLog ?? Paths.folder(of: directory.path) + "/audit.log"
    }

    /// Appends one line. Creates the file 0600; refuses a file others may write.
    public func append(_ event: AuditEvent) throws(PwdirError) {
        let fd: Int32
        do { fd = try Sys.open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600) } catch { throw .system(error) }
        defer { Sys.close(fd) }
        do { try AtomicFile.checkSafe(try Sys.fstat(fd, path), path: path) } catch { throw PwdirError(error) }
        // One write under an exclusive lock: lines from the module and the command never mix.
        // Bounded: a process stopped while holding it must not hang every login.
        let deadline = Sys.monotonicNanoseconds() + 2_000_000_000
        while cpwdir_ofd_lock(fd, 1, 0) != 0 {
            let e = errno
            if e == EINTR { continue }
            guard e == EAGAIN || e == EACCES else { throw .system(SystemError("fcntl(F_OFD_SETLK)", path, e)) }
            if Sys.monotonicNanoseconds() >= deadline { throw .busy(path: path) }
            Sys.sleep(milliseconds: 5)
        }
        do {
            try Sys.writeAll(fd, path, Array((event.jsonLine + "\n").utf8))
            try Sys.fsync(fd, path)
        } catch { throw .system(error) }
    }

    /// Every line, oldest first (empty when there is no file yet).
    public func read() throws(PwdirError) -> [UInt8] {
        guard let fd = try AtomicFile.openChecked(path) else { return [] }
        defer { Sys.close(fd) }
        do { return try Sys.readAll(fd, path, sizeHint: 65536) } catch { throw .system(error) }
    }
}
