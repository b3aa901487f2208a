#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PwdirCore
import XCTest

// The built `pwdir`, for tests that run it as a process.

/// The package root, from this file's path (Tests/PwdirTestSupport/TestBinaries.swift).
public let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The built `pwdir` binary: $PWDIR_BIN/pwdir, else the usual build folders.
public func pwdirBinary() throws -> String {
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
public func pwdirProcess(_ binary: String, _ arguments: [String], folder: String) -> (Process, Pipe) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    // The defaults but one: accounts are published in the test's folder, never the system's
    // /run/userdb.
    let settings = folder + "/pwdir-test.conf"
    if !FileManager.default.fileExists(atPath: settings) {
        FileManager.default.createFile(atPath: settings, contents: Data("userdb_dir = \(folder)/userdb\n".utf8), attributes: [.posixPermissions: 0o600])
    }
    p.arguments = arguments + ["--config", settings]
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "PWDIR_DB")
    env.removeValue(forKey: "PWDIR_CONFIG")
    p.environment = env
    p.standardOutput = FileHandle.nullDevice
    let err = Pipe()
    p.standardError = err
    return (p, err)
}
