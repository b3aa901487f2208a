import CPwdirSys

/// A password or other secret: bytes in storage this type owns and wipes (explicit_bzero) on
/// deinit. Never a `String`, so no copy is left behind in an immutable buffer.
/// Always followed by a NUL byte, so it can be handed to C as a string.
public final class SecretBytes: @unchecked Sendable {
    private let storage: UnsafeMutableRawBufferPointer
    /// Number of secret bytes (without the trailing NUL).
    public let count: Int

    /// Copies `count` bytes from `pointer`.
    public init(copying pointer: UnsafeRawPointer?, count: Int) {
        self.count = count
        storage = .allocate(byteCount: count + 1, alignment: 1)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        if let pointer, count > 0 { storage.baseAddress!.copyMemory(from: pointer, byteCount: count) }
    }

    /// Copies a NUL-terminated C string.
    public convenience init(cString: UnsafePointer<CChar>) {
        self.init(copying: cString, count: strlenNoString(cString))
    }

    /// Copies bytes from an array; the caller wipes its own array.
    public convenience init(_ bytes: [UInt8]) {
        self.init(copying: bytes, count: bytes.count)
    }

    deinit {
        cpwdir_wipe(storage.baseAddress, storage.count)
        storage.deallocate()
    }

    public var isEmpty: Bool { count == 0 }

    /// Runs `body` with the secret as a NUL-terminated C string.
    public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try body(storage.baseAddress!.assumingMemoryBound(to: CChar.self))
    }

    /// Runs `body` with the secret bytes (without the NUL).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<count]))
    }

    /// True when the secret contains a NUL byte (it would be cut short as a C string).
    public var containsNUL: Bool { withBytes { $0.contains(0) } }

    /// A password nobody has (32 random capital letters): sent in place of one that cannot be
    /// (empty, too long), so the server checks and counts it as the wrong password it is.
    public static func standIn() throws(PwdirError) -> SecretBytes {
        var random = try randomBytes(32)
        defer { for i in random.indices { random[i] = 0 } }
        return SecretBytes(random.map { 0x41 + $0 % 26 })
    }

    /// Constant-time equality (the time depends only on the lengths).
    public func constantTimeEquals(_ other: SecretBytes) -> Bool {
        withBytes { a in other.withBytes { b in constantTimeEqual(a, b) } }
    }
}

/// Compares two byte buffers in time that depends only on the longer length.
public func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    var diff: UInt8 = a.count == b.count ? 0 : 1
    let n = max(a.count, b.count)
    for i in 0..<n {
        let x = i < a.count ? a[i] : 0
        let y = i < b.count ? b[i] : 0
        diff |= x ^ y
    }
    return diff == 0
}

/// Constant-time comparison of two strings' UTF-8 bytes.
public func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    var a = a, b = b
    return a.withUTF8 { x in b.withUTF8 { y in constantTimeEqual(UnsafeRawBufferPointer(x), UnsafeRawBufferPointer(y)) } }
}

private func strlenNoString(_ p: UnsafePointer<CChar>) -> Int {
    var n = 0
    while p[n] != 0 { n += 1 }
    return n
}

/// explicit_bzero of a buffer (the compiler may not optimise it away).
func cpwdirWipe(_ buffer: UnsafeMutableRawBufferPointer) {
    cpwdir_wipe(buffer.baseAddress, buffer.count)
}
