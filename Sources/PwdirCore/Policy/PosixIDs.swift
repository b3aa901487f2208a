/// Chooses and checks uid and gid numbers for pwdir's accounts: from the configured range
/// (`uid_min`..`uid_max`) when none is given, never one a directory user holds (numbers are
/// not reused while their holder exists), never one the system already uses for another
/// account or group. Each account gets a private group of the same number and name (as
/// useradd's USERGROUPS_ENAB) unless a gid is given.
public struct PosixIDs {
    public let range: ClosedRange<UInt32>
    /// uid number → login, for every directory user that holds one.
    public private(set) var held: [UInt32: String]
    let system: SystemAccounts
    /// Also ask NSS number by number (sources that do not enumerate); off for a bulk import.
    let askEach: Bool

    public init(range: ClosedRange<UInt32>, held: [UInt32: String], system: SystemAccounts, askEach: Bool) {
        (self.range, self.held, self.system, self.askEach) = (range, held, system, askEach)
    }

    /// The system's account of `uid`, unless it is pwdir's own published record of the login
    /// that holds it. `ask`: also one NSS lookup (sources that do not enumerate).
    func systemUser(_ uid: UInt32, ask: Bool? = nil) -> String? {
        guard let name = system.userOfUID[uid] ?? ((ask ?? askEach) ? SystemAccounts.userOf(uid: uid) : nil) else { return nil }
        return held[uid] == name ? nil : name
    }

    func systemGroup(_ gid: UInt32, ask: Bool? = nil) -> String? {
        guard let name = system.groupOfGID[gid] ?? ((ask ?? askEach) ? SystemAccounts.groupOf(gid: gid) : nil) else { return nil }
        return held[gid] == name ? nil : name
    }

    /// Free for a new account: no directory user, no account and no group of the system (the
    /// enumeration answers most; NSS is asked only past it).
    func isFree(_ n: UInt32) -> Bool {
        held[n] == nil && !PosixAccount.reserved.contains(n) && systemUser(n, ask: true) == nil && systemGroup(n, ask: true) == nil
    }

    /// The system's account named `login` (not pwdir's own record of it), with its uid.
    public func systemAccount(named login: String) -> UInt32? {
        guard let uid = system.uidOfUser[login] ?? (askEach ? SystemAccounts.uidOf(user: login) : nil) else { return nil }
        return held[uid] == login ? nil : uid
    }

    /// The system's group named `login` (not the private group pwdir published for it): then
    /// the account cannot have a private group of that name.
    public func systemGroup(named login: String) -> UInt32? {
        guard let gid = system.gidOfGroup[login] ?? SystemAccounts.gidOf(group: login) else { return nil }
        return held[gid] == login ? nil : gid
    }

    /// The gid of the group `users`, the group of accounts without a private one (useradd's
    /// GROUP=100 when USERGROUPS_ENAB is off), if the system has it.
    public var usersGroup: UInt32? { system.gidOfGroup["users"] }

    /// A free number from the range for `login`, now held by it: above the highest one a
    /// directory user holds (as useradd: a removed user's number, and the files it still owns,
    /// are not handed to the next account while higher ones are free), else the lowest free.
    /// The enumeration skips most taken numbers; the one chosen is also asked of NSS.
    public mutating func allocate(for login: String) throws(PwdirError) -> UInt32 {
        let highest = held.keys.filter { range.contains($0) }.max()
        let starts = highest.map { $0 < range.upperBound ? [$0 + 1, range.lowerBound] : [range.lowerBound] } ?? [range.lowerBound]
        for start in starts {
            var n = start
            while true {
                if isFree(n) {
                    held[n] = login
                    return n
                }
                if n == range.upperBound { break }
                n += 1
            }
        }
        throw .invalidValue(field: "uid", reason: "no free uid number left from \(range.lowerBound) to \(range.upperBound); widen uid_min/uid_max in pwdir.conf")
    }

    /// Checks a number an administrator gave for `login` (its own, or free), now held by it.
    public mutating func claim(_ uid: UInt32, for login: String, field: String = "--uid") throws(PwdirError) {
        if let other = held[uid], other != login {
            throw .invalidValue(field: field, reason: "uid \(uid) belongs to '\(other)' in the directory; choose another or leave it out")
        }
        if let name = systemUser(uid, ask: true), name != login {
            throw .invalidValue(field: field, reason: "uid \(uid) belongs to the system account '\(name)'; choose another or leave it out")
        }
        held[uid] = login  // its old number stays marked as its own: its published records are not "the system's"
    }

    /// Checks a group number given for `login`: a group the system has, or the private group of
    /// a directory user (its own among them).
    public func checkGroup(_ gid: UInt32, for login: String, uid: UInt32, field: String = "--gid") throws(PwdirError) {
        if gid == uid {
            if let name = systemGroup(gid, ask: true), name != login {
                throw .invalidValue(field: field, reason: "gid \(gid) belongs to the system group '\(name)'; give --gid or another uid")
            }
            if let named = systemGroup(named: login) {
                throw .invalidValue(field: field, reason: "a group named '\(login)' exists already (gid \(named)); give the user's group with --gid")
            }
            return
        }
        if held[gid] != nil || systemGroup(gid) != nil || SystemAccounts.groupOf(gid: gid) != nil { return }
        throw .invalidValue(field: field, reason: "no group has gid \(gid); create it first (groupadd) or leave --gid out for a private group")
    }
}
