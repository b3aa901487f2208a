#if canImport(Glibc)
import Glibc
#endif
import PwdirCore
import PwdirLDAP

// pwdird: the root daemon that holds the LDAP connection for the PAM module (which must not
// load libldap into sshd) and answers it over a root-owned Unix socket (pwdird_socket).
// Usage: pwdird [--config PATH]   (runs in the foreground; systemd starts it, see pwdird(8))

func complain(_ line: String) {
    let bytes = Array("pwdird: \(line)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

var config = Paths.defaultSettings
var arguments = CommandLine.arguments.dropFirst()
while let a = arguments.popFirst() {
    switch a {
    case "--config":
        guard let v = arguments.popFirst(), v.hasPrefix("/") else { complain("--config needs an absolute path"); exit(64) }
        config = v
    case "--foreground": continue  // the only way it runs
    case "--help", "-h":
        print("usage: pwdird [--config PATH]   serve pam_pwdir on pwdird_socket for store = ldap (see pwdird(8))")
        exit(0)
    default:
        complain("unknown argument '\(PwdirError.printable(a, limit: 64))'; usage: pwdird [--config PATH]")
        exit(64)
    }
}
/// The socket's path, for the signal handler (set once, before the handler is installed).
nonisolated(unsafe) var socketPathForSignals: UnsafeMutablePointer<CChar>?

guard geteuid() == 0 else { complain("pwdird runs as root (it answers the PAM module of sshd, login, su)"); exit(77) }
signal(SIGPIPE, SIG_IGN)
LDAPConnection.initializeLibrary()
do {
    let (settings, warnings) = try Settings.load(path: config)
    for w in warnings { complain(w) }
    guard settings.store == .ldap else {
        complain("\(config) says store = file: pwdird serves only store = ldap (set store, ldap_uri, ldap_base, ldap_bind_dn)")
        exit(5)
    }
    // The service identity's password must be readable now, not at the first login.
    _ = try LDAPAccountStore(settings: settings)
    // Stopped (systemctl stop, SIGTERM, SIGINT): the socket goes with it, so clients find none.
    socketPathForSignals = strdup(settings.pwdirdSocket)
    for sig in [SIGTERM, SIGINT] {
        signal(sig) { _ in
            if let path = socketPathForSignals { unlink(path) }
            _exit(0)
        }
    }
    let server = PwdirdServer(socket: settings.pwdirdSocket, settings: settings) { () throws(PwdirError) -> AccountStore in
        try LDAPAccountStore(settings: settings)
    }
    try server.run()
} catch {
    complain(error.message)
    exit(error.exitStatus)
}
