#if canImport(Glibc)
import Glibc
#endif

/// The accounts and groups the system knows through NSS (/etc/passwd and /etc/group, LDAP,
/// systemd's userdb, whatever nsswitch.conf lists), for choosing uid and gid numbers that
/// collide with none of them. pwdir's own published records are among them: callers tell them
/// apart by name and number (`ours`).
public struct SystemAccounts: Sendable {
    public var uidOfUser: [String: UInt32] = [:]
    public var userOfUID: [UInt32: String] = [:]
    public var gidOfGroup: [String: UInt32] = [:]
    public var groupOfGID: [UInt32: String] = [:]

    public init() {}

    /// Every account and group the sources enumerate (getpwent, getgrent). Sources that do not
    /// enumerate are asked number by number (`userOf(uid:)`) before a number is taken.
    public static func enumerate() -> SystemAccounts {
        var s = SystemAccounts()
        setpwent()
        while let p = getpwent() {
            let name = String(cString: p.pointee.pw_name)
            s.uidOfUser[name] = s.uidOfUser[name] ?? p.pointee.pw_uid
            s.userOfUID[p.pointee.pw_uid] = s.userOfUID[p.pointee.pw_uid] ?? name
        }
        endpwent()
        setgrent()
        while let g = getgrent() {
            let name = String(cString: g.pointee.gr_name)
            s.gidOfGroup[name] = s.gidOfGroup[name] ?? g.pointee.gr_gid
            s.groupOfGID[g.pointee.gr_gid] = s.groupOfGID[g.pointee.gr_gid] ?? name
        }
        endgrent()
        return s
    }

    /// The account of `uid` as NSS answers one lookup (getpwuid_r), or nil.
    public static func userOf(uid: UInt32) -> String? {
        var entry = passwd(), result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, let found = result else { return nil }
        return String(cString: found.pointee.pw_name)
    }

    /// The uid of the account `name` as NSS answers one lookup (getpwnam_r), or nil.
    public static func uidOf(user name: String) -> UInt32? {
        var entry = passwd(), result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, let found = result else { return nil }
        return found.pointee.pw_uid
    }

    /// The gid of the group `name` as NSS answers one lookup (getgrnam_r), or nil.
    public static func gidOf(group name: String) -> UInt32? {
        var entry = group(), result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65_536)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, let found = result else { return nil }
        return found.pointee.gr_gid
    }

    /// The group of `gid` as NSS answers one lookup (getgrgid_r), or nil.
    public static func groupOf(gid: UInt32) -> String? {
        var entry = group(), result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65_536)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, let found = result else { return nil }
        return String(cString: found.pointee.gr_name)
    }
}
