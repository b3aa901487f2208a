#if canImport(Glibc)
import Glibc
#endif

/// Syslog priorities pwdir writes (authpriv), from the module and from the command.
public enum LogPriority: Sendable {
    case err, warning, notice, info, debug

    /// The <syslog.h> value.
    public var value: Int32 {
        switch self {
        case .err: return LOG_ERR
        case .warning: return LOG_WARNING
        case .notice: return LOG_NOTICE
        case .info: return LOG_INFO
        case .debug: return LOG_DEBUG
        }
    }
}
