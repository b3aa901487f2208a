#if canImport(Glibc)
import Glibc
#endif

/// Who the process runs as, and the changes pwdir's root helpers make to that.
public enum Identity {
    /// Makes every uid and gid 0 and drops supplementary groups: a helper started from a setuid
    /// program (su) keeps the caller's real uid otherwise, and the caller could signal it.
    public static func becomeRoot() throws(PwdirError) {
        do { try Sys.becomeRoot() } catch { throw .system(error) }
    }

    /// The running program's own file (/proc/self/exe).
    public static func ownExecutable() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        return n > 0 ? String(cBuffer: Array(buf[0..<n]) + [0]) : CommandLine.arguments[0]
    }

    /// The login of the real user (getpwuid_r of getuid), or nil.
    public static func realUserLogin() -> String? { Sys.loginOfRealUser() }

    public static var realUID: UInt32 { UInt32(Sys.realUID) }
    public static var isRoot: Bool { Sys.effectiveUID == 0 }
}
