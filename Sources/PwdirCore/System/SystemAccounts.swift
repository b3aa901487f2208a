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

    /// Every account and group the sources enumerate (getpwent, getgrent); the first of a name
    /// or a number is kept, as NSS answers. Sources that do not enumerate are asked number by
    /// number (`userOf(uid:)`) before a number is taken.
    public static func enumerate() -> SystemAccounts {
        var s = SystemAccounts()
        func note(_ name: String, _ id: UInt32, _ byName: inout [String: UInt32], _ byID: inout [UInt32: String]) {
            if byName[name] == nil { byName[name] = id }
            if byID[id] == nil { byID[id] = name }
        }
        Sys.forEachUser { note($0, $1, &s.uidOfUser, &s.userOfUID) }
        Sys.forEachGroup { note($0, $1, &s.gidOfGroup, &s.groupOfGID) }
        return s
    }

    /// The account of `uid` as NSS answers one lookup, or nil.
    public static func userOf(uid: UInt32) -> String? { Sys.userName(uid: uid) }

    /// The uid of the account `name` as NSS answers one lookup, or nil.
    public static func uidOf(user name: String) -> UInt32? { Sys.uid(ofUser: name) }

    /// The group of `gid` as NSS answers one lookup, or nil.
    public static func groupOf(gid: UInt32) -> String? { Sys.groupName(gid: gid) }

    /// The gid of the group `name` as NSS answers one lookup, or nil.
    public static func gidOf(group name: String) -> UInt32? { Sys.gid(ofGroup: name) }
}
