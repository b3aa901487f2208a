#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PwdirCore
import XCTest

// Files for tests: temp folders removed when the test ends, raw reads and writes that bypass
// the code under test, and a directory written straight to disk.

extension XCTestCase {
    /// A fresh folder from mkdtemp(3) under /tmp, removed when the test ends.
    public func makeTempFolder() throws -> String {
        var template = Array("/tmp/pwdir-coretests-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw XCTSkip("mkdtemp failed: errno \(errno)") }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }
}

/// Writes `data` to `path` (created or truncated) and sets its mode exactly.
public func writeFile(_ path: String, _ data: [UInt8], mode: mode_t = 0o600) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SystemError("open", path) }
    defer { close(fd) }
    var done = 0
    while done < data.count {
        let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        guard n > 0 else { throw SystemError("write", path) }
        done += n
    }
    guard fchmod(fd, mode) == 0 else { throw SystemError("fchmod", path) }
}

/// The whole content of `path`, or nil if it cannot be read.
public func readFile(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

/// lstat(2), or nil if the path does not exist.
public func lstatOf(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

public func exists(_ path: String) -> Bool { lstatOf(path) != nil }

/// Permission bits of `path` (or -1 when it does not exist).
public func modeOf(_ path: String) -> Int {
    guard let st = lstatOf(path) else { return -1 }
    return Int(st.st_mode & 0o7777)
}

/// Writes a valid directory holding `records` straight to disk (mode 0600), bypassing `update`.
public func writeDirectory(_ path: String, _ records: [UserRecord]) throws {
    try writeFile(path, DirectoryCodec.encode(records))
}

