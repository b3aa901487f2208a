import Foundation
import PwdirCore

/// Reading passwords: from standard input, or typed twice at the terminal with echo off.
enum Terminal {
    /// One line from standard input (the trailing newline removed).
    static func readSecretFromStdin() throws -> SecretBytes {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2048)  // no reallocation leaves a partial copy behind
        defer { wipe(&bytes) }
        var chunk = [UInt8](repeating: 0, count: 1024)
        defer { wipe(&chunk) }
        while bytes.count <= Yescrypt.maxPasswordBytes + 2 {
            let n = read(0, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw PwdirError.system(SystemError("read", "standard input"))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.contains(0x0A) { break }
        }
        if let nl = bytes.firstIndex(of: 0x0A) {
            if bytes[(nl + 1)...].contains(where: { $0 != 0x0A && $0 != 0x0D }) {
                throw PwdirError.invalidValue(field: "password", reason: "standard input holds more than one line; give one password")
            }
            bytes.removeSubrange(nl...)
        }
        if bytes.last == 0x0D { bytes.removeLast() }
        if bytes.isEmpty { throw PwdirError.weakPassword("standard input gave an empty password") }
        return SecretBytes(bytes)
    }

    /// Asks on /dev/tty with echo off, twice; they must match.
    static func askTwice(for login: String) throws -> SecretBytes {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            throw PwdirError.invalidValue(field: "password", reason: "no terminal to ask it on; use --stdin or --generate")
        }
        defer { close(fd) }
        let first = try ask(fd, "New password for \(login): ")
        let second = try ask(fd, "Retype new password: ")
        guard first.constantTimeEquals(second) else { throw PwdirError.passwordMismatch }
        return first
    }

    private static func ask(_ fd: Int32, _ prompt: String) throws -> SecretBytes {
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        var saved = termios()
        let isTTY = tcgetattr(fd, &saved) == 0
        if isTTY {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            _ = tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer {
            if isTTY { _ = tcsetattr(fd, TCSAFLUSH, &saved) }
            _ = write(fd, "\n", 1)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Yescrypt.maxPasswordBytes + 2)
        defer { wipe(&bytes) }
        var c: UInt8 = 0
        while bytes.count <= Yescrypt.maxPasswordBytes + 1 {
            let n = read(fd, &c, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || c == 0x0A { break }
            bytes.append(c)
        }
        if bytes.last == 0x0D { bytes.removeLast() }
        return SecretBytes(bytes)
    }

    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buf in
            for i in buf.indices { buf[i] = 0 }
        }
    }
}
