#if canImport(Glibc)
import Glibc
#endif

/// Where pwdir's files are: the directory and the settings (module arguments `db=`/`config=`,
/// the command's `--db`/`--config` or PWDIR_DB/PWDIR_CONFIG), and what lives beside the
/// directory. The one place the installed locations are written down.
public struct Paths: Equatable, Sendable {
    public static let defaultDirectory = "/var/lib/pwdir/users"
    public static let defaultSettings = "/etc/security/pwdir.conf"
    /// Folders the module looks in for its helpers when no argument names them: a Debian package
    /// installs into /usr/sbin, `make install` into /usr/local/sbin.
    public static let helperFolders = ["/usr/sbin", "/usr/local/sbin"]

    public var directory: String
    public var settings: String

    public init(directory: String = Paths.defaultDirectory, settings: String = Paths.defaultSettings) {
        self.directory = directory
        self.settings = settings
    }

    /// The tallies of failed logins: `users.tally/`.
    public var tallies: String { directory + ".tally" }
    /// On a host whose accounts are on an LDAP server: an empty file per account the server
    /// answered for, so that while pwdird is down pwdir's users still fail closed and other
    /// names go on to pam_unix: `users.known/`.
    public var known: String { directory + ".known" }
    /// The audit trail when the settings name none: `audit.log` beside the directory.
    public var defaultAuditLog: String { FilePathText.folder(of: directory) + "/audit.log" }

    /// The installed helper `name` (first of `helperFolders` holding it), else its path in the
    /// last folder, for the message that it is missing.
    public static func installedHelper(_ name: String) -> String {
        for folder in helperFolders where access(folder + "/" + name, X_OK) == 0 { return folder + "/" + name }
        return helperFolders.last! + "/" + name
    }
}
