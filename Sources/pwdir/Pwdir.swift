import ArgumentParser
import Foundation
import PwdirCore

/// `pwdir`: the administrator's command for the password directory.
@main
struct Pwdir: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pwdir",
        abstract: "Manage the pwdir password directory used by pam_pwdir.so.",
        subcommands: [Init.self, UserCommand.self, Passwd.self, Lock.self, Unlock.self, SendCredentials.self, Import.self, Recover.self, Log.self, RecoveryRequest.self, RecoveryNotice.self]
    )

    /// Runs the command; every failure is one `pwdir: …` line on stderr and a non-zero status.
    static func main() {
        do {
            var command = try parseAsRoot(leadingPathsToEnvironment(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let error as PwdirError {
            fail(error.message, status: error.exitStatus)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)  // the command already said why
        } catch let error as CommandFailure {
            fail(error.message, status: error.status)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            fail("\(message) (see 'pwdir help')", status: 64)
        }
    }

    /// PRODUCT.md writes `pwdir --db PATH COMMAND`: --db and --config given before the command
    /// apply to it (through PWDIR_DB / PWDIR_CONFIG; the same options after the command win).
    static func leadingPathsToEnvironment(_ arguments: [String]) -> [String] {
        var args = arguments
        let names = [("--db", "PWDIR_DB"), ("--config", "PWDIR_CONFIG")]
        scan: while let first = args.first {
            for (option, variable) in names {
                if first == option, args.count >= 2 {
                    setenv(variable, args[1], 1)
                    setenv("PWDIR_COMMAND_PATHS_FROM_ARGS", "1", 1)
                    args.removeFirst(2)
                    continue scan
                }
                if first.hasPrefix(option + "=") {
                    setenv(variable, String(first.dropFirst(option.count + 1)), 1)
                    setenv("PWDIR_COMMAND_PATHS_FROM_ARGS", "1", 1)
                    args.removeFirst()
                    continue scan
                }
            }
            break
        }
        return args
    }

    static func fail(_ message: String, status: Int32) -> Never {
        var line = message
        if line.hasPrefix("Error: ") { line.removeFirst(7) }
        FileHandle.standardError.write(Data("pwdir: \(line)\n".utf8))
        Foundation.exit(status)
    }
}

/// Where the directory and the settings are: --db/--config, else PWDIR_DB/PWDIR_CONFIG, else
/// the installed defaults.
struct Paths: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The directory file (env PWDIR_DB).", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("The settings file (env PWDIR_CONFIG).", valueName: "path"))
    var config: String?

    static let defaultDB = "/var/lib/pwdir/users"
    static let defaultConfig = "/etc/security/pwdir.conf"

    var dbPath: String { db ?? ProcessInfo.processInfo.environment["PWDIR_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultDB }
    var configPath: String { config ?? ProcessInfo.processInfo.environment["PWDIR_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultConfig }

    var directory: DirectoryFile { DirectoryFile(path: dbPath) }

    /// Under sudo, a manager must not point pwdir at another directory (an old backup where
    /// they were admin) or another settings file (one naming a `sendmail` that runs as root):
    /// --db and --config are refused unless they are the installed defaults. sudo's env_reset
    /// removes PWDIR_DB and PWDIR_CONFIG; pam/sudoers.pwdir never keeps them.
    func validate() throws {
        let env = ProcessInfo.processInfo.environment
        guard geteuid() == 0, let sudo = env["SUDO_USER"], !sudo.isEmpty, sudo != "root" else { return }
        if let db, db != Self.defaultDB { throw ValidationError("--db may not be given through sudo (the directory is \(Self.defaultDB))") }
        if let config, config != Self.defaultConfig { throw ValidationError("--config may not be given through sudo (the settings are \(Self.defaultConfig))") }
        if env["PWDIR_COMMAND_PATHS_FROM_ARGS"] != nil { throw ValidationError("--db and --config may not be given through sudo") }
    }

    /// The settings; unknown keys are reported on stderr and ignored.
    func settings() throws -> Settings {
        let (settings, warnings) = try Settings.load(path: configPath)
        for w in warnings { FileHandle.standardError.write(Data("pwdir: warning: \(w)\n".utf8)) }
        return settings
    }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an empty directory (mode 0600).")
    @OptionGroup var paths: Paths

    func run() throws {
        if let sudo = ProcessInfo.processInfo.environment["SUDO_USER"], !sudo.isEmpty, sudo != "root", geteuid() == 0 {
            throw CommandFailure(message: "only root creates the directory: run 'pwdir init' as root, not through sudo", status: 77)
        }
        let auth = try paths.authority([])
        try auth.require(.initialize)
        try auth.perform(.initialize, target: nil, detail: paths.dbPath) { try paths.directory.create() }
        print("created an empty directory at \(paths.dbPath)")
    }
}

struct Lock: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Lock an account: no login until 'pwdir unlock'.")
    @OptionGroup var paths: Paths
    @Argument(help: "The login to lock.") var name: String

    func validate() throws { try LoginName.validate(name) }

    func run() throws {
        _ = try paths.settings()
        let records = try paths.directory.load()
        let auth = try paths.authority(records)
        try auth.require(.lock, on: records.first { $0.login == name }, targetName: name)
        let actor = auth.name
        let now = systemNow()
        try auth.perform(.lock, target: name, detail: "locked by hand") {
            try paths.directory.update { (records) throws(PwdirError) in
                let i = try records.index(of: name)
                records[i][UserRecord.Key.lockedTime] = UserRecord.adminLockValue
                records[i][UserRecord.Key.lockedBy] = actor
                records[i][UserRecord.Key.lockedSince] = GeneralizedTime.format(now)
            }
        }
        print("locked \(name); 'pwdir unlock \(name)' reactivates it")
    }
}

struct Unlock: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reactivate an account locked by hand or by failed logins (clears the failure count).")
    @OptionGroup var paths: Paths
    @Argument(help: "The login to unlock.") var name: String

    func validate() throws { try LoginName.validate(name) }

    func run() throws {
        let settings = try paths.settings()
        let directory = paths.directory
        let records = try directory.load()
        let auth = try paths.authority(records)
        try auth.require(.unlock, on: records.first { $0.login == name }, targetName: name)
        if case let .member(me) = auth.who, me.role == .manager, let target = records.first(where: { $0.login == name }),
           target.isAdminLocked, target[UserRecord.Key.lockedBy] != me.login {
            auth.audit.record(actor: auth.name, action: Action.unlock.rawValue, target: name, result: "refused", detail: "locked by \(target[UserRecord.Key.lockedBy] ?? "an administrator")")
            throw CommandFailure(message: "\(auth.name) may not unlock \(name): it was locked by \(target[UserRecord.Key.lockedBy] ?? "an administrator"); a manager lifts only locks from failed logins and their own", status: 77)
        }
        let tallies = TallyStore(directory: directory)
        let now = systemNow()
        var reasons: [String] = []
        try directory.update { (records) throws(PwdirError) in
            let i = try records.index(of: name)
            if records[i].isAdminLocked { reasons.append("locked by \(records[i][UserRecord.Key.lockedBy] ?? "an administrator")") }
            records[i][UserRecord.Key.lockedTime] = nil
            records[i][UserRecord.Key.lockedBy] = nil
            records[i][UserRecord.Key.lockedSince] = nil
        }
        let tally = (try? tallies.read(name)) ?? FailureTally(failures: [0])
        let lockout = Lockout(settings: settings)
        if lockout.isLocked(tally, now: now) { reasons.append("locked after \(tally.failures.count) failed logins") }
        else if !tally.failures.isEmpty {
            let n = lockout.countingFailures(tally, now: now)
            reasons.append("\(n) failed login\(n == 1 ? "" : "s") cleared")
        }
        try tallies.reset(name)
        let why = reasons.isEmpty ? "was not locked" : reasons.joined(separator: ", ")
        auth.audit.record(actor: auth.name, action: Action.unlock.rawValue, target: name, result: "ok", detail: why)
        print("unlocked \(name) (\(why))")
    }
}

/// A failure already worded for the administrator (a whole import, a mail the MTA refused).
struct CommandFailure: Error {
    var message: String
    var status: Int32
}

extension Array where Element == UserRecord {
    /// Index of `login`, or `.userNotFound`.
    func index(of login: String) throws(PwdirError) -> Int {
        guard let i = firstIndex(where: { $0.login == login }) else { throw .userNotFound(login) }
        return i
    }
}
