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
        var fields: [(String, String)] = [("userName", json(r.login))]
        if let name = r.fullName { fields.append(("realName", json(name))) }
        fields += [("uid", String(uid)), ("gid", String(r.gidNumber ?? uid))]
        if let home = r.homeDirectory { fields.append(("homeDirectory", json(home))) }
        if let shell = r.loginShell { fields.append(("shell", json(shell))) }
        fields += [("disposition", json("regular")), ("locked", r.isAdminLocked ? "true" : "false"), ("service", json(service))]
        return object(fields)
    }

    /// The private group record of `r` (gid equal to its uid), or nil.
    public static func groupRecord(_ r: UserRecord) -> [UInt8]? {
        guard let uid = r.uidNumber, (r.gidNumber ?? uid) == uid else { return nil }
        return object([("groupName", json(r.login)), ("gid", String(uid)), ("disposition", json("regular")), ("service", json(service))])
    }

    static func object(_ fields: [(String, String)]) -> [UInt8] {
        Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}\n").utf8)
    }

    /// `s` as a JSON string.
    static func json(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20 || u.value == 0x7F:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    // MARK: Changes

    /// Publishes `r` as it now is (or withdraws it, when it has no uid number), and removes
    /// what `previous` (the record before the change) published that no longer applies.
    public func publish(_ r: UserRecord, previous: UserRecord? = nil) throws(PwdirError) {
        try ensureFolder()
        var wanted: [String: Entry] = [:]
        for (name, entry) in Self.entries(of: r) { wanted[name] = entry }
        var stale = Set(Self.entries(of: previous ?? r).map(\.name)).union(["\(r.login).user", "\(r.login).group"])
        stale.subtract(wanted.keys)
        for name in stale.sorted() { try removeIfOurs(name, of: r.login) }
        for name in Self.ordered(wanted) { if let clash = clash(name, wanted[name]!) { throw clash } }  // nothing half-published
        for name in Self.ordered(wanted) { try put(name, wanted[name]!) }
    }

    /// Withdraws everything published for `r` (a removed user).
    public func withdraw(_ r: UserRecord) throws(PwdirError) {
        guard exists(path) else { return }
        var names = Set(Self.entries(of: r).map(\.name))
        names.formUnion(["\(r.login).user", "\(r.login).group"])
        for name in names.sorted(by: { isLink($0) && !isLink($1) }) { try removeIfOurs(name, of: r.login) }  // links first
    }

    /// Rewrites the folder from `records`: every published account written (unchanged files
    /// left alone), every file of pwdir's no record names removed. Returns how many accounts
    /// are published.
    @discardableResult
    public func sync(_ records: [UserRecord]) throws(PwdirError) -> Int {
        try ensureFolder()
        var wanted: [String: Entry] = [:]
        var published = 0
        for r in records {
            let entries = Self.entries(of: r)
            if !entries.isEmpty { published += 1 }
            for (name, entry) in entries { wanted[name] = entry }
        }
        let present: [String]
        do { present = try Sys.listFolder(path) } catch { throw .system(error) }
        for name in present where wanted[name] == nil && (name.hasSuffix(".user") || name.hasSuffix(".group")) {
            try removeIfOurs(name)
        }
        // Every account that can be written is (at boot a clash must not hide everyone after
        // it); the first problem is reported after.
        var firstProblem: PwdirError?
        for name in Self.ordered(wanted) {
            do { try put(name, wanted[name]!) } catch { firstProblem = firstProblem ?? error }
        }
        if let firstProblem { throw firstProblem }
        return published
    }

    // MARK: Files

    enum Entry: Equatable {
        case file([UInt8])
        case link(to: String)

        var isLink: Bool { if case .link = self { true } else { false } }
    }

    /// The names and contents `r` publishes.
    static func entries(of r: UserRecord) -> [(name: String, entry: Entry)] {
        guard let uid = r.uidNumber, let user = userRecord(r) else { return [] }
        var out: [(String, Entry)] = [("\(r.login).user", .file(user)), ("\(uid).user", .link(to: "\(r.login).user"))]
        if let group = groupRecord(r) {
            out += [("\(r.login).group", .file(group)), ("\(uid).group", .link(to: "\(r.login).group"))]
        }
        return out
    }

    /// Files before the links that point to them (a link is never left dangling).
    static func ordered(_ wanted: [String: Entry]) -> [String] {
        wanted.keys.sorted { a, b in
            let (al, bl) = (wanted[a]!.isLink, wanted[b]!.isLink)
            return al == bl ? a < b : !al
        }
    }

    func isLink(_ name: String) -> Bool {
        guard let st = try? Sys.lstatIfExists(path + "/" + name) else { return false }
        return (st.st_mode & S_IFMT) == S_IFLNK
    }

    func exists(_ p: String) -> Bool { (try? Sys.lstatIfExists(p)) != nil }

    /// Makes the folder (0755, root's) unless it exists; refuses one others may write.
    func ensureFolder() throws(PwdirError) {
        do {
            // first: nobody else can swap a folder on the way to it (root writes there by name)
            if Sys.effectiveUID == 0 { try FileSafety.checkFoldersOnPath(from: try Sys.realPath(FilePathText.folder(of: path)), naming: path) }
            _ = try Sys.mkdir(path, 0o755)
            guard let st = try Sys.lstatIfExists(path), (st.st_mode & S_IFMT) == S_IFDIR else {
                throw PwdirError.unsafeFile(path: path, reason: "it is not a folder")
            }
            if (st.st_mode & 0o022) != 0 || (st.st_uid != 0 && st.st_uid != Sys.effectiveUID) {
                throw PwdirError.unsafeFile(path: path, reason: "it is not root's or others may write in it; make it root's, mode 755")
            }
        } catch let e as PwdirError {
            throw e
        } catch let e as SystemError {
            if e.code == ENOENT { throw .directoryMissing(FilePathText.folder(of: path)) }
            throw .system(e)
        } catch {
            throw .unsafeFile(path: path, reason: "\(error)")
        }
    }

    /// Whether the entry `name` was written by pwdir: a file with its service mark, or a link
    /// to such a file (or to nothing any more).
    func isOurs(_ name: String, followingLink: Bool = true) -> Bool {
        let p = path + "/" + name
        guard let st = try? Sys.lstatIfExists(p) else { return false }
        switch st.st_mode & S_IFMT {
        case S_IFLNK:
            // pwdir's links are UID.user -> LOGIN.user (one step, in the folder); a dangling one
            // of that shape is pwdir's leftover
            guard followingLink, PosixAccount.isNumeric(String(name.prefix { $0 != "." })), let target = readLink(p), !target.contains("/") else { return false }
            return exists(path + "/" + target) ? isOurs(target, followingLink: false) : target.hasSuffix(name.hasSuffix(".user") ? ".user" : ".group")
        case S_IFREG:
            guard st.st_size < 65_536, let bytes = try? FileSafety.read(p) else { return false }
            // JSON as anyone may have written it: whitespace around the colon is allowed
            let compact = String(decoding: bytes.filter { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }, as: UTF8.self)
            return compact.contains("\"service\":\(Self.json(Self.service))")
        default:
            return false
        }
    }

    func readLink(_ p: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(p, &buf, buf.count - 1)
        return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    /// Removes `name` if pwdir wrote it (and, given `login`, if it is that account's: a link to
    /// another account's file is left to it).
    func removeIfOurs(_ name: String, of login: String? = nil) throws(PwdirError) {
        guard isOurs(name) else { return }
        if let login, isLink(name), let target = readLink(path + "/" + name), target != "\(login).user", target != "\(login).group" { return }
        do { try Sys.unlinkIfExists(path + "/" + name) } catch { throw .system(error) }
    }

    /// Why `entry` cannot be put at `name`: a link there to another account's file still in
    /// place (two accounts would share the number: another directory writing the same folder,
    /// or a record edited by hand), or an entry pwdir did not write.
    func clash(_ name: String, _ entry: Entry) -> PwdirError? {
        let p = path + "/" + name
        guard exists(p) else { return nil }
        guard isOurs(name) else { return .unsafeFile(path: p, reason: "it was not written by pwdir; remove it or choose another login or uid") }
        guard case .link(let target) = entry, let current = readLink(p), current != target, exists(path + "/" + current) else { return nil }
        return .unsafeFile(path: p, reason: "this number is published for '\(current.split(separator: ".").dropLast().joined(separator: "."))' already; give one of the two accounts another number")
    }

    /// Writes `entry` at `name` (a temporary name renamed over it), unless it is already so;
    /// refuses to replace an entry that is not pwdir's.
    func put(_ name: String, _ entry: Entry) throws(PwdirError) {
        let p = path + "/" + name
        if exists(p) {
            if let clash = clash(name, entry) { throw clash }
            switch entry {
            case .file(let bytes): if (try? FileSafety.read(p)) == bytes { return }
            case .link(let target): if readLink(p) == target { return }
            }
        }
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
                guard symlink(target, temporary) == 0 else { throw SystemError("symlink", temporary) }
            }
            try Sys.rename(temporary, p)
        } catch {
            try? Sys.unlinkIfExists(temporary)
            throw .system(error)
        }
    }
}
