import ArgumentParser
import PwdirCore

/// `pwdir`: the administrator's command for the password directory.
@main
struct Pwdir: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pwdir",
        abstract: "Manage the pwdir password directory used by pam_pwdir.so.",
        discussion: """
            Every command takes --db PATH (env PWDIR_DB; default \(Paths.defaultDirectory)) and \
            --config PATH (env PWDIR_CONFIG; default \(Paths.defaultSettings)), before or after \
            the command's name. Run it as root, or through sudo as a directory admin or manager. \
            Errors are one line on stderr starting 'pwdir: ', with the exit status 2 (bad input), \
            3 (already exists), 4 (no such user), 5 (directory or settings unusable), 6 (busy), \
            7 (mail refused), 64 (usage) or 77 (not allowed). See pwdir(8) and pwdir.conf(5).
            """,
        version: PwdirVersion.string,
        subcommands: [
            InitCommand.self, UserCommand.self, PasswdCommand.self, LockCommand.self, UnlockCommand.self,
            SendCredentialsCommand.self, ImportCommand.self, RecoverCommand.self, LogCommand.self, MigrateCommand.self, UserdbCommand.self, TotpCommand.self, ExportCommand.self, LdapCommand.self,
            RecoveryRequestCommand.self, RecoveryNoticeCommand.self,
        ]
    )

    /// Errors the parser reports (usage, validation) start like ours.
    static var _errorPrefix: String { "pwdir: " }

    /// The parser's own main, but every error on one line: pwdir's with their exit status, the
    /// parser's (usage, validation) with its message and its status; 'pwdir help' shows usage.
    static func main() {
        do {
            try Arguments.requireUTF8()
            var command = try parseAsRoot(PathOptions.leadingPathsToEnvironment(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let error as PwdirError {
            Output.fail(error)
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is ExitCode { exit(withError: error) }  // --help, --version, a status already said
            Output.fail(.usage(message(for: error)), status: code.rawValue)
        }
    }
}
