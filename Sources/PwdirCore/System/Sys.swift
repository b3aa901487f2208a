// The core's one layer over libc, in the manner of swift-system: each wrapper names the call it
// makes, retries EINTR in one place (`retry`), and turns -1 into a thrown `SystemError` naming the
// call and the path. swift-system 1.8.1 has no fsync, rename, link, unlink, OFD locks or mmap,
// so the core keeps its own. Everything else in the core works with these and never sees errno.
#if canImport(Glibc)
import Glibc
#endif
import CPwdirSys

public enum Sys {
    /// Retries `body` while it fails with EINTR; throws on -1.
    @discardableResult
    static func retry<T: BinaryInteger>(_ call: String, _ path: String, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let r = body()
            if r != -1 { return r }
            if errno == EINTR { continue }
            throw SystemError(call, path)
        }
    }

    // MARK: Opening and closing

    /// open(2) with O_CLOEXEC|O_NOFOLLOW|O_NOCTTY always added, and O_NONBLOCK so that a FIFO or
    /// a device put where a file belongs cannot hang the caller (regular files ignore it).
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws(SystemError) -> Int32 {
        try retry("open", path) { Glibc.open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, mode) }
    }

    /// open(2) for reading; nil when the path does not exist. A symbolic link is refused (ELOOP).
    static func openIfExists(_ path: String, _ flags: Int32 = O_RDONLY) throws(SystemError) -> Int32? {
        do { return try open(path, flags) } catch {
            if error.code == ENOENT { return nil }
            throw error
        }
    }

    /// openat(2) of `name` in the folder `folderFD` (the same flags as `open`); nil when it
    /// does not exist.
    static func openAtIfExists(_ folderFD: Int32, _ name: String, path: String, _ flags: Int32 = O_RDONLY) throws(SystemError) -> Int32? {
        do {
            return try retry("open", path) { Glibc.openat(folderFD, name, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK) }
        } catch {
            if error.code == ENOENT { return nil }
            throw error
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)  // not retried on Linux: the descriptor is gone either way
    }

    /// A descriptor numbered 10 or more, close-on-exec, for a file a child must be given by
    /// number (its 0-2 are being replaced). Closes `fd`.
    static func moveAboveStandard(_ fd: Int32, _ path: String) throws(SystemError) -> Int32 {
        defer { close(fd) }
        return try retry("fcntl(F_DUPFD_CLOEXEC)", path) { fcntl(fd, F_DUPFD_CLOEXEC, 10) }
    }

    // MARK: Metadata

    static func fstat(_ fd: Int32, _ path: String) throws(SystemError) -> stat {
        var st = stat()
        try retry("fstat", path) { Glibc.fstat(fd, &st) }
        return st
    }

    /// lstat(2); nil when the path does not exist.
    static func lstatIfExists(_ path: String) throws(SystemError) -> stat? {
        var st = stat()
        if Glibc.lstat(path, &st) == 0 { return st }
        if errno == ENOENT { return nil }
        throw SystemError("lstat", path)
    }

    static func fchmod(_ fd: Int32, _ path: String, _ mode: mode_t) throws(SystemError) {
        try retry("fchmod", path) { Glibc.fchmod(fd, mode) }
    }

    /// Makes a file pwdir creates root's when pwdir runs as root, whatever the caller's groups: a
    /// module inside a setuid program (su) would otherwise create files with the caller's group.
    static func ownByRoot(_ fd: Int32, _ path: String) throws(SystemError) {
        guard geteuid() == 0 else { return }
        try retry("fchown", path) { Glibc.fchown(fd, 0, 0) }
    }

    /// fchown(2) to `uid`:`gid` when running as root (nothing otherwise: only root may give a
    /// file away).
    static func own(_ fd: Int32, _ path: String, uid: uid_t, gid: gid_t) throws(SystemError) {
        guard geteuid() == 0 else { return }
        try retry("fchown", path) { Glibc.fchown(fd, uid, gid) }
    }

    /// mkdir(2); false when it already existed.
    @discardableResult
    static func mkdir(_ path: String, _ mode: mode_t) throws(SystemError) -> Bool {
        if Glibc.mkdir(path, mode) == 0 { return true }
        if errno == EEXIST { return false }
        throw SystemError("mkdir", path)
    }

    /// realpath(3): `path` with every symbolic link and `.`/`..` resolved.
    static func realPath(_ path: String) throws(SystemError) -> String {
        guard let resolved = Glibc.realpath(path, nil) else { throw SystemError("realpath", path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    // MARK: Reading and writing

    /// Reads the whole file behind `fd` (whose size is `sizeHint` as fstat saw it).
    static func readAll(_ fd: Int32, _ path: String, sizeHint: Int) throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(sizeHint, 0) + 1)
        var used = 0
        while true {
            if used == bytes.count { bytes.append(contentsOf: repeatElement(0, count: max(4096, bytes.count))) }
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + used, $0.count - used) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path)
            }
            if n == 0 { break }
            used += n
        }
        bytes.removeSubrange(used...)
        return bytes
    }

    /// Reads `fd` (a pipe) to its end, at most `limit` bytes (one more than the caller accepts,
    /// so it can tell "too long"), waiting at most `timeoutMilliseconds` in all.
    static func readLimited(_ fd: Int32, _ path: String, limit: Int, timeoutMilliseconds: Int) throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: limit)
        var used = 0
        let deadline = monotonicNanoseconds() + UInt64(timeoutMilliseconds) * 1_000_000
        while used < limit {
            let now = monotonicNanoseconds()
            guard now < deadline else { throw SystemError("read", path, ETIMEDOUT) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = Glibc.poll(&p, 1, Int32((deadline - now) / 1_000_000) + 1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw SystemError("poll", path)
            }
            if ready == 0 { continue }
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + used, limit - used) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SystemError("read", path)
            }
            if n == 0 { break }
            used += n
        }
        let result = Array(bytes[0..<used])
        for i in bytes.indices { bytes[i] = 0 }
        return result
    }

    /// pread(2) of exactly `count` bytes at `offset` (fewer only at the end of the file).
    static func pread(_ fd: Int32, _ path: String, count: Int, offset: Int) throws(SystemError) -> [UInt8] {
        var failure: SystemError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, used in
            do throws(SystemError) { used = try pread(fd, path, into: UnsafeMutableRawBufferPointer(buffer), offset: offset) } catch {
                used = 0
                failure = error
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// pread(2) filling `buffer` from `offset` (less only at the end of the file); how many
    /// bytes it read.
    static func pread(_ fd: Int32, _ path: String, into buffer: UnsafeMutableRawBufferPointer, offset: Int) throws(SystemError) -> Int {
        var used = 0
        while used < buffer.count {
            let n = Glibc.pread(fd, buffer.baseAddress! + used, buffer.count - used, off_t(offset + used))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("pread", path)
            }
            if n == 0 { break }
            used += n
        }
        return used
    }

    /// pwrite(2) of all of `bytes` at `offset`.
    static func pwrite(_ fd: Int32, _ path: String, _ bytes: [UInt8], offset: Int) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("pwrite", path)
            }
            done += n
        }
    }

    static func writeAll(_ fd: Int32, _ path: String, _ bytes: [UInt8]) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path)
            }
            done += n
        }
    }

    /// Maps `size` bytes of `fd` read-only for the time of `body`.
    static func withMapping<T>(_ fd: Int32, _ path: String, size: Int, _ body: (UnsafeRawBufferPointer) throws(PwdirError) -> T) throws(PwdirError) -> T {
        guard size > 0 else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw .system(SystemError("mmap", path))
        }
        defer { munmap(map, size) }
        return try body(UnsafeRawBufferPointer(start: map, count: size))
    }

    // MARK: Durability and names

    static func fsync(_ fd: Int32, _ path: String) throws(SystemError) {
        try retry("fsync", path) { Glibc.fsync(fd) }
    }

    /// Starts writing `fd`'s dirty pages to disk without waiting (sync_file_range); a later
    /// fsync waits for them. Best effort: fsync alone is what makes the data durable.
    static func startWriteback(_ fd: Int32) {
        _ = cpwdir_start_writeback(fd)
    }

    /// fsync of the folder holding `path`, so that a rename or link in it is durable.
    static func fsyncFolder(of path: String) throws(SystemError) {
        let folder = FilePathText.folder(of: path)
        let fd = try retry("open", folder) { Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        try fsync(fd, folder)
    }

    static func rename(_ from: String, _ to: String) throws(SystemError) {
        try retry("rename", to) { Glibc.rename(from, to) }
    }

    /// link(2); false when `to` already exists.
    @discardableResult
    static func link(_ from: String, _ to: String) throws(SystemError) -> Bool {
        if Glibc.link(from, to) == 0 { return true }
        if errno == EEXIST { return false }
        throw SystemError("link", to)
    }

    /// rmdir(2); false when the folder is not empty, true when it is gone (or was already).
    static func removeEmptyFolder(_ path: String) throws(SystemError) -> Bool {
        do { try retry("rmdir", path) { Glibc.rmdir(path) } } catch {
            if error.code == ENOENT { return true }
            if error.code == ENOTEMPTY || error.code == EEXIST { return false }
            throw error
        }
        return true
    }

    /// The names in a folder (not "." and ".."), in no particular order.
    static func listFolder(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// readlink(2): where the symbolic link `path` points, or nil.
    static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = Glibc.readlink(path, &buf, buf.count - 1)
        return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    /// symlink(2): a new link at `path` to `target`.
    static func symlink(_ target: String, _ path: String) throws(SystemError) {
        try retry("symlink", path) { Glibc.symlink(target, path) }
    }

    static func unlinkIfExists(_ path: String) throws(SystemError) {
        if Glibc.unlink(path) == 0 || errno == ENOENT { return }
        throw SystemError("unlink", path)
    }

    // MARK: Locks

    /// An exclusive OFD lock (fcntl F_OFD_SETLK) on the whole of `fd`, waiting up to
    /// `timeoutMilliseconds`; false when it could not be had in that time. The one wait loop of
    /// pwdir: every lock it takes goes through here.
    static func lock(_ fd: Int32, _ path: String, timeoutMilliseconds: Int) throws(SystemError) -> Bool {
        let deadline = monotonicNanoseconds() + UInt64(max(timeoutMilliseconds, 0)) * 1_000_000
        var pause = 1
        while cpwdir_ofd_lock(fd, 1, 0) != 0 {
            let e = errno
            if e == EINTR { continue }
            guard e == EAGAIN || e == EACCES else { throw SystemError("fcntl(F_OFD_SETLK)", path, e) }
            if monotonicNanoseconds() >= deadline { return false }
            sleep(milliseconds: pause)
            pause = min(pause * 2, 10)
        }
        return true
    }

    /// Releases a lock taken by `lock`.
    static func unlock(_ fd: Int32) {
        _ = cpwdir_ofd_unlock(fd)
    }

    /// Runs `body` in a section the caller's user cannot stop (see cpwdir_critical_enter): for
    /// the few milliseconds pwdir holds a lock that other logins wait for.
    static func unstoppable<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        var saved = cpwdir_critical()
        _ = cpwdir_critical_enter(&saved)
        defer { cpwdir_critical_leave(&saved) }
        return try body()
    }

    // MARK: Time, randomness, identity

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func sleep(milliseconds: Int) {
        var ts = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var left = timespec()
        while nanosleep(&ts, &left) == -1 && errno == EINTR { ts = left }
    }

    /// Seconds since the epoch.
    static func wallClock() -> Int64 { Int64(time(nil)) }

    /// Fills `count` bytes from the kernel CSPRNG (getrandom).
    static func random(_ count: Int) throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let rc = bytes.withUnsafeMutableBytes { cpwdir_random($0.baseAddress, $0.count) }
        if rc != 0 { throw SystemError("getrandom", "") }
        return bytes
    }

    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        let name = String(cBuffer: buf)
        return name.isEmpty ? "localhost" : name
    }

    static var effectiveUID: uid_t { geteuid() }
    static var realUID: uid_t { getuid() }

    /// Makes every uid and gid 0 and drops supplementary groups.
    static func becomeRoot() throws(SystemError) {
        if cpwdir_become_root() != 0 { throw SystemError("setresuid", "") }
    }

    /// The login of the real user, from the passwords database (getpwuid_r).
    static func loginOfRealUser() -> String? { userName(uid: getuid()) }

    // MARK: The accounts database (NSS: files, systemd's userdb, LDAP…)

    /// The account of `uid` (getpwuid_r), or nil.
    static func userName(uid: uid_t) -> String? {
        accountEntry(passwd(), { getpwuid_r(uid, $0, $1, $2, $3) }) { $0.pw_name.map { String(cString: $0) } }
    }

    /// The uid of the account `name` (getpwnam_r), or nil.
    static func uid(ofUser name: String) -> uid_t? {
        accountEntry(passwd(), { getpwnam_r(name, $0, $1, $2, $3) }) { $0.pw_uid }
    }

    /// The group of `gid` (getgrgid_r), or nil.
    static func groupName(gid: gid_t) -> String? {
        accountEntry(group(), { getgrgid_r(gid, $0, $1, $2, $3) }) { $0.gr_name.map { String(cString: $0) } }
    }

    /// The gid of the group `name` (getgrnam_r), or nil.
    static func gid(ofGroup name: String) -> gid_t? {
        accountEntry(group(), { getgrnam_r(name, $0, $1, $2, $3) }) { $0.gr_gid }
    }

    /// One entry through `call` (a getpw*_r or getgr*_r call), read by `read` while the buffer
    /// its strings point into lives; nil when there is none.
    private static func accountEntry<Entry, T>(_ empty: Entry, _ call: (UnsafeMutablePointer<Entry>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>) -> Int32,
                                              _ read: (Entry) -> T?) -> T? {
        var entry = empty
        var result: UnsafeMutablePointer<Entry>?
        var buffer = [CChar](repeating: 0, count: 65_536)
        let status = buffer.withUnsafeMutableBufferPointer { call(&entry, $0.baseAddress!, $0.count, &result) }
        guard status == 0, result != nil else { return nil }
        return withExtendedLifetime(buffer) { read(entry) }
    }

    /// Every account the sources enumerate (getpwent), by name and uid.
    static func forEachUser(_ body: (String, uid_t) -> Void) {
        setpwent()
        defer { endpwent() }
        while let p = getpwent() { body(String(cString: p.pointee.pw_name), p.pointee.pw_uid) }
    }

    /// Every group the sources enumerate (getgrent), by name and gid.
    static func forEachGroup(_ body: (String, gid_t) -> Void) {
        setgrent()
        defer { endgrent() }
        while let g = getgrent() { body(String(cString: g.pointee.gr_name), g.pointee.gr_gid) }
    }

    /// One line to syslog (authpriv) from a program; the module logs through pam_syslog instead.
    static func syslog(ident: String, priority: LogPriority, _ message: String) {
        cpwdir_syslog(LOG_AUTHPRIV | priority.value, ident, message)
    }
}

extension String {
    /// The NUL-terminated string at the start of a C buffer.
    init(cBuffer buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
