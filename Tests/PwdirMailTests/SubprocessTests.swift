import Foundation
import PwdirCore
import PwdirTestSupport
import XCTest

/// `Subprocess.run`: the spawn under the mail command (and the module's helper). These run real
/// programs (/bin/sh, /usr/bin/env, …) directly: a unit test of the spawn, not of mail delivery.
final class SubprocessTests: XCTestCase {
    func run(_ argv: [String], input: String = "", environment: [String] = Subprocess.cleanEnvironment, timeout: Int = 10_000) throws -> Subprocess.Result {
        try Subprocess.run(argv, input: Array(input.utf8), environment: environment, timeoutMilliseconds: timeout)
    }

    func testExitCodes() throws {
        for code: Int32 in [0, 1, 3, 75, 255] {
            let r = try run(["/bin/sh", "-c", "exit \(code)"])
            XCTAssertEqual(r.exitCode, code)
            XCTAssertNil(r.signal)
            XCTAssertFalse(r.timedOut)
        }
    }

    func testKilledBySignal() throws {
        let r = try run(["/bin/sh", "-c", "kill -TERM $$"])
        XCTAssertNil(r.exitCode)
        XCTAssertEqual(r.signal, SIGTERM)
        XCTAssertFalse(r.timedOut)
    }

    func testStdoutAndStderrCapturedApart() throws {
        let r = try run(["/bin/sh", "-c", "echo to-out; echo 'relay denied' >&2; echo second >&2; exit 1"])
        XCTAssertEqual(String(decoding: r.stdout, as: UTF8.self), "to-out\n")
        XCTAssertEqual(String(decoding: r.stderr, as: UTF8.self), "relay denied\nsecond\n")
        XCTAssertEqual(r.diagnostic, "relay denied; second", "stderr as one line")
        let quiet = try run(["/bin/sh", "-c", "printf 'only stdout\\n\\033[31m'; exit 2"])
        XCTAssertEqual(quiet.diagnostic, "only stdout; \\u{1B}[31m", "stdout when stderr is empty, control characters made printable")
        // an MTA answering in SMTP style ends its lines with CRLF: still one line per line
        let crlf = try run(["/bin/sh", "-c", "printf '554 5.7.1 relay denied\\r\\nsendmail: giving up\\r\\n' >&2; exit 1"])
        XCTAssertEqual(crlf.diagnostic, "554 5.7.1 relay denied; sendmail: giving up")
    }

    /// The whole input reaches stdin, also when it is far larger than a pipe buffer.
    func testInputOnStdin() throws {
        let r = try run(["/bin/cat"], input: "To: ana@corp.example\r\n\r\nbody\r\n")
        XCTAssertEqual(String(decoding: r.stdout, as: UTF8.self), "To: ana@corp.example\r\n\r\nbody\r\n")
        let big = String(repeating: "0123456789abcdef", count: 65_536)  // 1 MiB
        let counted = try run(["/usr/bin/wc", "-c"], input: big)
        XCTAssertEqual(String(decoding: counted.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "1048576")
        XCTAssertEqual(counted.exitCode, 0)
        // a child that does not read its input still finishes
        let deaf = try run(["/bin/true"], input: big)
        XCTAssertEqual(deaf.exitCode, 0)
        // no input: stdin is at end of file at once
        let empty = try run(["/usr/bin/wc", "-c"])
        XCTAssertEqual(String(decoding: empty.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    /// argv goes as given: no shell, so no globbing, no expansion, no word splitting.
    func testArgvExactlyAsGivenNoShell() throws {
        let args = ["a b", "", "*", "$HOME", "`id`", "; rm -rf /", "'q'", "\"dq\"", "é"]
        let r = try run(["/usr/bin/printf", "[%s]\\n"] + args)
        XCTAssertEqual(String(decoding: r.stdout, as: UTF8.self), args.map { "[\($0)]\n" }.joined())
    }

    /// The child's environment is exactly what is passed; nothing of the caller's leaks.
    func testEnvironmentIsExactlyWhatIsPassed() throws {
        setenv("PWDIR_SECRET_CANARY", "must-not-leak", 1)
        defer { unsetenv("PWDIR_SECRET_CANARY") }
        let clean = try run(["/usr/bin/env"])
        XCTAssertEqual(String(decoding: clean.stdout, as: UTF8.self), "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLC_ALL=C.UTF-8\nHOME=/\n")
        XCTAssertEqual(Subprocess.cleanEnvironment, ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8", "HOME=/"])
        let custom = try run(["/usr/bin/env"], environment: ["A=1", "B=two words", "C="])
        XCTAssertEqual(String(decoding: custom.stdout, as: UTF8.self), "A=1\nB=two words\nC=\n")
        let none = try run(["/usr/bin/env"], environment: [])
        XCTAssertEqual(none.stdout, [])
        XCTAssertEqual(none.exitCode, 0)
    }

    /// The caller's open descriptors (sshd's sockets, the directory lock) do not reach the child.
    func testOtherDescriptorsClosed() throws {
        let fd = open("/dev/null", O_RDONLY)  // no O_CLOEXEC
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(dup2(fd, 57), 57)
        defer { close(fd); close(57) }
        let r = try run(["/bin/ls", "/proc/self/fd"])
        let fds = Set(String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").map(String.init))
        XCTAssertTrue(fds.isSubset(of: ["0", "1", "2", "3"]), "descriptors reached the child: \(fds.sorted())")  // 3: ls's own
    }

    func testTimeoutKills() throws {
        let start = (Double(monotonicNanoseconds()) / 1e9)
        let r = try run(["/bin/sleep", "30"], timeout: 300)
        let elapsed = (Double(monotonicNanoseconds()) / 1e9) - start
        XCTAssertTrue(r.timedOut)
        XCTAssertEqual(r.signal, SIGKILL)
        XCTAssertNil(r.exitCode)
        XCTAssertLessThan(elapsed, 2.0, "the time limit was not kept")
        XCTAssertGreaterThanOrEqual(elapsed, 0.25)
    }

    /// The time limit holds also for a child that has closed (or redirected) its stdout and
    /// stderr — a daemonising MTA, or one that logs to a file — and keeps running.
    func testTimeoutKillsAChildThatClosedItsOutput() throws {
        let start = (Double(monotonicNanoseconds()) / 1e9)
        let r = try run(["/bin/sh", "-c", "exec >/dev/null 2>&1; exec /bin/sleep 4"], timeout: 300)
        let elapsed = (Double(monotonicNanoseconds()) / 1e9) - start
        XCTAssertLessThan(elapsed, 2.0, "run waited \(elapsed) s for a child past its 0.3 s limit")
        XCTAssertTrue(r.timedOut, "not reported as timed out (exit \(String(describing: r.exitCode)))")
    }

    /// A hung child that still holds stdin open (it never reads) is killed too.
    func testTimeoutWithUnreadInput() throws {
        let start = (Double(monotonicNanoseconds()) / 1e9)
        let r = try run(["/bin/sleep", "30"], input: String(repeating: "x", count: 1 << 20), timeout: 300)
        XCTAssertTrue(r.timedOut)
        XCTAssertLessThan((Double(monotonicNanoseconds()) / 1e9) - start, 2.0)
    }

    func testNonAbsolutePathRefused() {
        for argv in [["sh", "-c", "true"], ["./sendmail"], ["bin/true"], [""], []] {
            let error = caught { () throws(PwdirError) in
                try Subprocess.run(argv, input: [], timeoutMilliseconds: 1000)
            }
            guard case let .invalidValue(field, reason)? = error else {
                XCTFail("\(argv) was run: \(String(describing: error))")
                continue
            }
            XCTAssertEqual(field, "command")
            XCTAssertTrue(reason.contains("not an absolute path"), reason)
        }
    }

    func testMissingProgramIsAnError() {
        let error = caught { () throws(PwdirError) in
            try Subprocess.run(["/nonexistent/sendmail", "-t"], input: [], timeoutMilliseconds: 1000)
        }
        guard case .system? = error else { return XCTFail("a missing program gave \(String(describing: error))") }
        XCTAssertTrue(error!.message.contains("/nonexistent/sendmail"), error!.message)
    }

    /// Output past the buffers is dropped, not a crash or a hang.
    func testLargeOutputBounded() throws {
        let r = try run(["/bin/sh", "-c", "head -c 300000 /dev/zero; head -c 100000 /dev/zero >&2; exit 0"])
        XCTAssertEqual(r.exitCode, 0)
        XCTAssertGreaterThan(r.stdout.count, 0)
        XCTAssertLessThanOrEqual(r.stdout.count, 300_000)
        XCTAssertGreaterThan(r.stderr.count, 0)
        XCTAssertLessThanOrEqual(r.stderr.count, 100_000)
    }
}
