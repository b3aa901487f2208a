import Foundation
import PwdirCore

/// Who is acting, and the syslog (authpriv) trail of what the command changes.
enum Actor {
    /// root acting directly, or the sudo user who ran pwdir.
    static var name: String {
        if let sudo = ProcessInfo.processInfo.environment["SUDO_USER"], !sudo.isEmpty, getuid() == 0 { return sudo }
        if let pw = getpwuid(getuid()), let n = pw.pointee.pw_name { return String(cString: n) }
        return "uid \(getuid())"
    }
}

enum SystemLog {
    /// One line to syslog, facility authpriv, ident "pwdir". Never a password.
    static func notice(_ message: String) {
        openlog("pwdir", LOG_PID, LOG_AUTHPRIV)
        withVaList([message]) { vsyslog(LOG_NOTICE, "%s", $0) }
        closelog()
    }
}
