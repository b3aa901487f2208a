/// Syslog (authpriv) for pwdir's programs; the module logs through pam_syslog instead.
public enum SystemLog {
    public static func write(ident: String, _ priority: LogPriority, _ message: String) {
        Sys.syslog(ident: ident, priority: priority, message)
    }
}
