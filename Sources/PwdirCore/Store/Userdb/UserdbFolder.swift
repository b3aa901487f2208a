#if canImport(Glibc)
import Glibc
#endif

/// pwdir's accounts as systemd userdb records (JSON User/Group Records), in a drop-in folder
/// that nss-systemd reads with no daemon and no module: `NAME.user` and a symbolic link
/// `UID.user` to it, and for a private group `NAME.group` and `GID.group`. `getent passwd
/// NAME` then resolves on any system with `systemd` in nsswitch.conf (Debian's default).
///
/// Only what the system needs is published, never the hash (no `.user-privileged`): pwdir's
/// module stays the only verifier. An account locked by an administrator is `locked: true`,
/// which nss-systemd shows as an expired shadow entry, so the system refuses the account
/// whatever the authentication (an ssh key too). Each file is written whole under a temporary
/// name and renamed, so a reader never sees half a record. pwdir's files are recognised by
/// their `service` field; files of others in the folder are never touched.
public struct UserdbFolder: Sendable {
    public let path: String
    public static let service = "io.pwdir"

    public init(path: String) { self.path = path }

    // MARK: The records

    /// The user record of `r`, or nil when it has no uid number (not published).
    public static func userRecord(_ r: UserRecord) -> [UInt8]? {
        guard let uid = r.uidNumber else { return nil }
        var fields: [(name: String, value: String)] = [("userName", JSONText.string(r.login))]
        if let name = r.fullName { fields.append(("realName", JSONText.string(name))) }
        fields += [("uid", String(uid)), ("gid", String(r.gidNumber ?? uid))]
        if let home = r.homeDirectory { fields.append(("homeDirectory", JSONText.string(home))) }
        if let shell = r.loginShell { fields.append(("shell", JSONText.string(shell))) }
        fields += [("disposition", JSONText.string("regular")), ("locked", r.isAdminLocked ? "true" : "false"), ("service", JSONText.string(service))]
        return Array((JSONText.object(fields) + "\n").utf8)
    }

    /// The private group record of `r` (gid equal to its uid), or nil.
    public static func groupRecord(_ r: UserRecord) -> [UInt8]? {
        guard let uid = r.uidNumber, (r.gidNumber ?? uid) == uid else { return nil }
        let fields = [("groupName", JSONText.string(r.login)), ("gid", String(uid)), ("disposition", JSONText.string("regular")), ("service", JSONText.string(service))]
        return Array((JSONText.object(fields) + "\n").utf8)
    }

    // MARK: Changes

    /// Publishes `r` as it now is (or withdraws it, when it has no uid number), and removes
    /// what `previous` (the record before the change) published that no longer applies.
    /// Nothing is changed when one of its names is taken (by another service's file, or by
    /// another account's number).
    public func publish(_ r: UserRecord, previous: UserRecord? = nil) throws(PwdirError) {
        try ensureFolder()
        let wanted = Self.entries(of: r)
        for (name, entry) in wanted { if let clash = clash(name, entry, found(name)) { throw clash } }
        let names = Set(wanted.map(\.name))
        let before = (previous.map(Self.entries(of:)) ?? []).map(\.name) + Self.files(of: r.login)
        for name in before where !names.contains(name) { try removeIfOurs(name, of: r.login) }
        for (name, entry) in wanted { try put(name, entry) }
    }

    /// Withdraws everything published for `r` (a removed user): its links first, then its files.
    public func withdraw(_ r: UserRecord) throws(PwdirError) {
        guard exists(path) else { return }
        for name in Self.entries(of: r).filter(\.entry.isLink).map(\.name) + Self.files(of: r.login) {
            try removeIfOurs(name, of: r.login)
        }
    }

    /// Rewrites the folder from `records`: every published account written (unchanged files
    /// left alone), every file of pwdir's no record names removed. Returns how many accounts
    /// are published.
    @discardableResult
    public func sync(_ records: [UserRecord]) throws(PwdirError) -> Int {
        try ensureFolder()
        let wanted = records.map(Self.entries(of:))
        let names = Set(wanted.joined().map(\.name))
        let present: [String]
        do { present = try Sys.listFolder(path) } catch { throw .system(error) }
        for name in present where !names.contains(name) && (name.hasSuffix(".user") || name.hasSuffix(".group")) {
            try removeIfOurs(name)
        }
        // Every account that can be written is (at boot a clash must not hide everyone after
        // it); the first problem is reported after.
        var firstProblem: PwdirError?
        for (name, entry) in wanted.joined() {
            do { try put(name, entry) } catch { firstProblem = firstProblem ?? error }
        }
        if let firstProblem { throw firstProblem }
        return wanted.filter { !$0.isEmpty }.count
    }

    // MARK: Files

    enum Entry: Equatable {
        case file([UInt8])
        case link(to: String)

        var isLink: Bool { if case .link = self { true } else { false } }
    }

    /// The names and contents `r` publishes, each file before the link to it (a link is never
    /// left dangling).
    static func entries(of r: UserRecord) -> [(name: String, entry: Entry)] {
        guard let uid = r.uidNumber, let user = userRecord(r) else { return [] }
        var out: [(String, Entry)] = [("\(r.login).user", .file(user)), ("\(uid).user", .link(to: "\(r.login).user"))]
        if let group = groupRecord(r) {
            out += [("\(r.login).group", .file(group)), ("\(uid).group", .link(to: "\(r.login).group"))]
        }
        return out
    }

    /// The names of an account's own files.
    static func files(of login: String) -> [String] { ["\(login).user", "\(login).group"] }

    /// What is at a name now, read once: a regular file's bytes, a link's target, or anything
    /// else (a folder, a file too large or unsafe to read).
    enum Found {
        case file([UInt8])
        case link(String)
        case other
    }

    func found(_ name: String) -> Found? {
        let p = path + "/" + name
        guard let st = try? Sys.lstatIfExists(p) else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFLNK: return Sys.readLink(p).map(Found.link) ?? .other
        case S_IFREG where st.st_size < 65_536: return ((try? FileSafety.read(p)) ?? nil).map(Found.file) ?? .other
        default: return .other
        }
    }

    func exists(_ p: String) -> Bool { (try? Sys.lstatIfExists(p)) != nil }

    /// Makes the folder (0755, root's) unless it exists; refuses one others may write, or on a
    /// path where others could swap a folder (root writes there by name), checked first.
    func ensureFolder() throws(PwdirError) {
        let parent = FilePathText.folder(of: path)
        if Sys.effectiveUID == 0 {
            let real: String
            do { real = try Sys.realPath(parent) } catch { throw error.code == ENOENT ? .directoryMissing(parent) : .system(error) }
            try FileSafety.checkFoldersOnPath(from: real, naming: path)
        }
        try FileSafety.ensureFolder(path, mode: 0o755, others: 0o022, advice: "it is not root's or others may write in it; make it root's, mode 755")
    }

    /// Whether what was found at `name` is pwdir's: a file with its service mark, or a link
    /// `UID.user` -> `LOGIN.user` (one step, in the folder) to such a file or to nothing any more
    /// (pwdir's leftover).
    func isOurs(_ name: String, _ found: Found) -> Bool {
        switch found {
        case .file(let bytes):
            // JSON as anyone may have written it: whitespace around the colon is allowed
            let compact = String(decoding: bytes.filter { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }, as: UTF8.self)
            return compact.contains("\"service\":" + JSONText.string(Self.service))
        case .link(let target):
            guard PosixAccount.isNumeric(String(name.prefix { $0 != "." })), !target.contains("/") else { return false }
            guard let pointed = self.found(target) else { return target.hasSuffix(name.hasSuffix(".user") ? ".user" : ".group") }
            if case .file = pointed { return isOurs(target, pointed) }
            return false
        case .other:
            return false
        }
    }

    /// Removes `name` if pwdir wrote it (and, given `login`, if it is that account's: a link to
    /// another account's file is left to it).
    func removeIfOurs(_ name: String, of login: String? = nil) throws(PwdirError) {
        guard let f = found(name), isOurs(name, f) else { return }
        if let login, case .link(let target) = f, !Self.files(of: login).contains(target) { return }
        do { try Sys.unlinkIfExists(path + "/" + name) } catch { throw .system(error) }
    }

    /// Why `entry` cannot be put at `name`, given what was found there: an entry pwdir did not
    /// write, or a link to another account's file still in place (two accounts would share the
    /// number: another directory writing the same folder, or a record edited by hand).
    func clash(_ name: String, _ entry: Entry, _ found: Found?) -> PwdirError? {
        guard let found else { return nil }
        let p = path + "/" + name
        guard isOurs(name, found) else { return .unsafeFile(path: p, reason: "it was not written by pwdir; remove it or choose another login or uid") }
        guard case .link(let target) = entry, case .link(let current) = found, current != target, exists(path + "/" + current) else { return nil }
        return .unsafeFile(path: p, reason: "this number is published for '\(current.split(separator: ".").dropLast().joined(separator: "."))' already; give one of the two accounts another number")
    }

    /// Writes `entry` at `name` (a temporary name renamed over it), unless it is already so;
    /// refuses to replace what `clash` refuses.
    func put(_ name: String, _ entry: Entry) throws(PwdirError) {
        let now = found(name)
        if let clash = clash(name, entry, now) { throw clash }
        switch (entry, now) {
        case (.file(let bytes), .file(let current)?) where bytes == current: return
        case (.link(let target), .link(let current)?) where target == current: return
        default: break
        }
        let p = path + "/" + name
        let temporary = path + "/.#" + name + ".\(getpid())"
        do throws(SystemError) {
            try Sys.unlinkIfExists(temporary)
            switch entry {
            case .file(let bytes):
                let fd = try Sys.open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
                defer { Sys.close(fd) }
                try Sys.fchmod(fd, temporary, 0o644)
                try Sys.writeAll(fd, temporary, bytes)
            case .link(let target):
                try Sys.symlink(target, temporary)
            }
            try Sys.rename(temporary, p)
        } catch {
            try? Sys.unlinkIfExists(temporary)
            throw .system(error)
        }
    }
}
