// Helpers shared by the core's unit tests: a seeded random generator, temp folders, byte-exact
// record comparison, typed-error capture, raw file I/O and the built `pwdir` binary.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PwdirCore
import XCTest

/// SplitMix64: small, seeded, reproducible (a failing property run can be replayed by its seed).
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs `body` and returns the PwdirError it threw, or nil if it returned.
func caught<T>(_ body: () throws(PwdirError) -> T) -> PwdirError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// `DirectoryCodec.lookup` over an array's bytes (Array.withUnsafeBytes only rethrows `any Error`).
func lookupIn(_ data: [UInt8], _ login: String, path: String) throws(PwdirError) -> UserRecord? {
    let result = data.withUnsafeBytes { b in Result { () throws(PwdirError) in try DirectoryCodec.lookup(login, in: b, path: path) } }
    return try result.get()
}

/// The bytes of a string (test inputs are written as Swift strings, then made raw).
func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

let testHeader = "pwdir-directory 1\n"

/// Asserts that two record lists are the same byte for byte: logins, attribute names and values
/// compared as UTF-8 (String's `==` treats canonically equivalent strings as equal, which would
/// hide a change of normalisation).
func assertSameBytes(_ got: [UserRecord], _ want: [UserRecord], _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, "record count \(message)", file: file, line: line)
    for (g, w) in zip(got, want) {
        XCTAssertEqual(Array(g.login.utf8), Array(w.login.utf8), "login \(message)", file: file, line: line)
        XCTAssertEqual(g.attributes.count, w.attributes.count, "attribute count of \(w.login) \(message)", file: file, line: line)
        for (ga, wa) in zip(g.attributes, w.attributes) {
            XCTAssertEqual(Array(ga.name.utf8), Array(wa.name.utf8), "attribute name of \(w.login) \(message)", file: file, line: line)
            XCTAssertEqual(Array(ga.value.utf8), Array(wa.value.utf8), "value of \(w.login).\(wa.name) \(message)", file: file, line: line)
        }
    }
}

/// Sorted the way the directory sorts: by the login's bytes.
func sortedByLogin(_ records: [UserRecord]) -> [UserRecord] {
    records.sorted { $0.login.utf8.lexicographicallyPrecedes($1.login.utf8) }
}

// MARK: Files

extension XCTestCase {
    /// A fresh folder from mkdtemp(3) under /tmp, removed when the test ends.
    func makeTempFolder() throws -> String {
        var template = Array("/tmp/pwdir-coretests-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw XCTSkip("mkdtemp failed: errno \(errno)") }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }
}

/// Writes `data` to `path` (created or truncated) and sets its mode exactly.
func writeFile(_ path: String, _ data: [UInt8], mode: mode_t = 0o600) throws {
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
func readFile(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

/// lstat(2), or nil if the path does not exist.
func lstatOf(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

func exists(_ path: String) -> Bool { lstatOf(path) != nil }

/// Permission bits of `path` (or -1 when it does not exist).
func modeOf(_ path: String) -> Int {
    guard let st = lstatOf(path) else { return -1 }
    return Int(st.st_mode & 0o7777)
}

/// Writes a valid directory holding `records` straight to disk (mode 0600), bypassing `update`.
func writeDirectory(_ path: String, _ records: [UserRecord]) throws {
    try writeFile(path, DirectoryCodec.encode(records))
}

// MARK: The built command

/// The package root, from this file's path (Tests/PwdirCoreTests/TestSupport.swift).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The built `pwdir` binary: $PWDIR_BIN/pwdir, else the usual build folders.
func pwdirBinary() throws -> String {
    if let bin = ProcessInfo.processInfo.environment["PWDIR_BIN"], access(bin + "/pwdir", X_OK) == 0 { return bin + "/pwdir" }
    for candidate in [".build/release/pwdir", ".build/debug/pwdir"] {
        let path = packageRoot + "/" + candidate
        if access(path, X_OK) == 0 { return path }
    }
    throw XCTSkip("no built pwdir binary under \(packageRoot)/.build*/; run 'swift build' first")
}

/// A `pwdir` process not yet started; its settings point at a file that does not exist (the
/// defaults), so the machine's /etc/security/pwdir.conf plays no part. stdout is discarded,
/// stderr captured.
func pwdirProcess(_ binary: String, _ arguments: [String], folder: String) -> (Process, Pipe) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = arguments + ["--config", folder + "/no-such-pwdir.conf"]
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "PWDIR_DB")
    env.removeValue(forKey: "PWDIR_CONFIG")
    p.environment = env
    p.standardOutput = FileHandle.nullDevice
    let err = Pipe()
    p.standardError = err
    return (p, err)
}
