#if canImport(Glibc)
import Glibc
#endif

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
    public var description: String { path.isEmpty ? "\(call): \(reason)" : "\(call) \(path): \(reason)" }

    /// The disk (or the user's quota) is full: nothing more can be written there.
    public var isNoSpace: Bool { code == ENOSPC || code == EDQUOT }
}
