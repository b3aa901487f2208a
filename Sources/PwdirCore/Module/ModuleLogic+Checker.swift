/// Without root (a screen locker checking its own user), the module cannot read the accounts:
/// like pam_unix with unix_chkpwd, it asks a setuid helper, `pwdir-chkpwd`, which runs the same
/// hook logic as root for the caller's own account only (real uid against the login), counts the
/// attempt in the same lockout, and answers with what to tell the user and the result.
///
/// Protocol: argv `pwdir-chkpwd auth|account LOGIN --service NAME [--silent] [--debug]`; for
/// `auth` the password on stdin (a pipe or a socket, never a terminal; at most 511 bytes, then
/// end of file). stdout: zero or more `tell error TEXT` / `tell info TEXT` lines, then
/// `result NAME` (a `ModuleResult`).
extension ModuleLogic {
    static let checkerTimeoutMilliseconds = 30_000

    func askChecker(_ mode: String, _ user: String, password: SecretBytes?) -> ModuleResult {
        guard LoginName.isValid(user) else { return .userUnknown }
        if options.db != Paths.defaultDirectory || options.config != Paths.defaultSettings {
            host.log(.warning, "db= and config= do not apply without root: pwdir-chkpwd checks the installed directory (\(Paths.defaultDirectory))")
        }
        let path = options.chkpwd ?? Paths.installedHelper("pwdir-chkpwd")
        let executable: TrustedExecutable
        do { executable = try TrustedExecutable(path) } catch {
            host.log(.err, "cannot check \(user) without root: \(error.message) (install pwdir-chkpwd setuid root, or module argument chkpwd=)")
            return .authInfoUnavailable
        }
        var argv = [executable.path, mode, user, "--service", PwdirError.printable(host.service, limit: 64)]
        if options.silent { argv.append("--silent") }
        if options.debug { argv.append("--debug") }
        var input: [UInt8] = []
        input.reserveCapacity((password?.count ?? 0) + 1)
        password?.withBytes { input.append(contentsOf: $0) }
        defer { for i in input.indices { input[i] = 0 } }
        let run: Subprocess.Result
        do {
            run = try Subprocess.run(argv, executable: executable, input: input, timeoutMilliseconds: Self.checkerTimeoutMilliseconds)
        } catch {
            host.log(.err, "cannot run \(path): \(error.message)")
            return .authInfoUnavailable
        }
        var result: ModuleResult?
        for line in run.stdout.split(separator: 0x0A) {
            let text = String(decoding: line, as: UTF8.self)
            if text.hasPrefix("tell error ") { host.tell(String(text.dropFirst(11)), isError: true) }
            else if text.hasPrefix("tell info ") { host.tell(String(text.dropFirst(10)), isError: false) }
            else if text.hasPrefix("result ") { result = ModuleResult(rawValue: String(text.dropFirst(7))) }
        }
        guard let result, !run.timedOut, run.exitCode == 0 else {
            host.log(.err, "\(path) gave no answer for \(user): \(run.timedOut ? "timed out" : run.diagnostic)")
            return .authInfoUnavailable
        }
        return result
    }
}
