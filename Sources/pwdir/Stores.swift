#if canImport(Glibc)
import Glibc
#endif
import PwdirCore
import PwdirLDAP

/// The store pwdir.conf names: the flat file at the directory path, or the LDAP server (which
/// the command reaches directly, as the service identity).
enum Stores {
    static func open(_ settings: Settings, paths: Paths) throws(PwdirError) -> AccountStore {
        switch settings.store {
        case .file: return FileAccountStore(path: paths.directory)
        case .ldap:
            // A server that drops the connection must not kill the command mid-change.
            signal(SIGPIPE, SIG_IGN)
            return try LDAPAccountStore(settings: settings)
        }
    }
}
