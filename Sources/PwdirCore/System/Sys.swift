// The only file of the core that talks to libc for files: small typed wrappers in the manner of
// swift-system (retry EINTR, turn -1 into a thrown SystemError). Everything above works with
// these and never sees errno.
#if canImport(Glibc)
import Glibc
#endif
import CPwdirSys

/// A failed system call: which call, on which path, and errno.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public let call: String
    public let path: String
    public let code: Int32

    public init(_ call: String, _ path: String, _ code: Int32 = errno) {
        self.call = call
        self.path = path
        self.code = code
    }

    public var reason: String { String(cString: strerror(code)) }
    public var description: String { "\(call) \(path): \(reason)" }
}

enum Sys {
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

    /// open(2) with O_CLOEXEC|O_NOFOLLOW|O_NOCTTY always added.
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws(SystemError) -> Int32 {
        try retry("open", path) { Glibc.open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode) }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)  // close is not retried on Linux: the descriptor is gone either way
    }

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

    static func fsync(_ fd: Int32, _ path: String) throws(SystemError) {
        try retry("fsync", path) { Glibc.fsync(fd) }
    }

    /// fsync of the folder holding `path`, so that a rename in it is durable.
    static func fsyncFolder(of path: String) throws(SystemError) {
        let folder = Paths.folder(of: path)
        let fd = try retry("open", folder) { Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        try fsync(fd, folder)
    }

    static func rename(_ from: String, _ to: String) throws(SystemError) {
        try retry("rename", to) { Glibc.rename(from, to) }
    }

    static func unlinkIfExists(_ path: String) throws(SystemError) {
        if Glibc.unlink(path) == 0 || errno == ENOENT { return }
        throw SystemError("unlink", path)
    }

    static func link(_ from: String, _ to: String) throws(SystemError) {
        try retry("link", to) { Glibc.link(from, to) }
    }

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
}

/// Path arithmetic without Foundation.
public enum Paths {
    /// The folder part of `path` ("." when there is none).
    public static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}

/// Seconds since the epoch, read from the system clock. Code that decides anything by time
/// takes the time as a parameter; only entry points call this.
public func systemNow() -> Int64 {
    Int64(time(nil))
}

/// Fills `count` bytes from the kernel CSPRNG (getrandom).
public func randomBytes(_ count: Int) throws(PwdirError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let rc = bytes.withUnsafeMutableBytes { cpwdir_random($0.baseAddress, $0.count) }
    if rc != 0 { throw PwdirError.system(SystemError("getrandom", "")) }
    return bytes
}

extension String {
    /// The NUL-terminated string at the start of a C buffer.
    init(cBuffer buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
