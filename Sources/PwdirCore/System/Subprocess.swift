#if canImport(Glibc)
import Glibc
#endif
import CPwdirSys

/// A program run without a shell, with a clean environment and a time limit: the MTA for the
/// command, the `pwdir` helper for the module. Safe inside a host process: other descriptors
/// are closed in the child and the host's signal state is not touched.
public struct Subprocess: Sendable {
    public struct Result: Sendable {
        /// Exit code; nil when killed by a signal or when the host reaps children itself.
        public var exitCode: Int32?
        public var signal: Int32?
        public var timedOut: Bool
        public var stdout: [UInt8]
        public var stderr: [UInt8]

        /// stderr (or stdout) as one printable line, for error messages.
        public var diagnostic: String {
            let text = String(decoding: stderr.isEmpty ? stdout : stderr, as: UTF8.self)
            let line = text.split(whereSeparator: { $0.isNewline }).map { $0.trimmingSpaces() }.filter { !$0.isEmpty }.joined(separator: "; ")
            return PwdirError.printable(line, limit: 400)
        }
    }

    /// Environment of every child: nothing from the caller (sudo users, sshd clients).
    public static let cleanEnvironment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8", "HOME=/"]

    /// Runs `argv` (argv[0] an absolute path) with `input` on stdin. With `executable`, the
    /// program run is that already checked and opened file, and argv[0] only its name.
    public static func run(_ argv: [String], executable: TrustedExecutable? = nil, input: [UInt8], environment: [String] = cleanEnvironment, timeoutMilliseconds: Int) throws(PwdirError) -> Result {
        guard let program = argv.first, program.hasPrefix("/") else {
            throw .invalidValue(field: "command", reason: "'\(argv.first ?? "")' is not an absolute path")
        }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var out = [CChar](repeating: 0, count: 64 * 1024), err = [CChar](repeating: 0, count: 16 * 1024)
        var outLen = 0, errLen = 0
        var status: Int32 = -1, timedOut: Int32 = 0
        let rc = input.withUnsafeBytes { inBuf in
            cpwdir_spawn(cArgs, cEnv, executable?.descriptor ?? -1, inBuf.baseAddress, inBuf.count, Int32(timeoutMilliseconds),
                         &out, out.count, &outLen, &err, err.count, &errLen, &status, &timedOut)
        }
        guard rc == 0 else { throw .system(SystemError("posix_spawn", program)) }
        var result = Result(exitCode: nil, signal: nil, timedOut: timedOut != 0,
                            stdout: out.prefix(outLen).map { UInt8(bitPattern: $0) },
                            stderr: err.prefix(errLen).map { UInt8(bitPattern: $0) })
        if status >= 0 {
            if status & 0x7F == 0 { result.exitCode = (status >> 8) & 0xFF } else { result.signal = status & 0x7F }
        }
        return result
    }

    /// Starts `argv` in a new session with `input` on its stdin (through a pipe, so nothing
    /// typed by a user shows in argv), stdout and stderr on /dev/null, other descriptors closed,
    /// signal mask empty and dispositions default; not waited for. For a short-lived parent that
    /// hands work to a background child.
    public static func startDetached(_ argv: [String], input: [UInt8], environment: [String] = cleanEnvironment) throws(PwdirError) {
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        let pid = input.withUnsafeBytes { cpwdir_spawn_background(cArgs, cEnv, $0.baseAddress, $0.count) }
        if pid < 0 { throw .system(SystemError("posix_spawn", argv.first ?? "")) }
    }
}
