import ArgumentParser
import Foundation
import PwdirCore

/// `pwdir`: the administrator's command for the password directory.
@main
struct Pwdir: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pwdir",
        abstract: "Manage the pwdir password directory used by pam_pwdir.so.",
        subcommands: [Init.self, UserCommand.self, Passwd.self, Lock.self, Unlock.self]
    )

    /// Runs the command; every failure is one `pwdir: …` line on stderr and a non-zero status.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as PwdirError {
            fail(error.message, status: error.exitStatus)
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
        try paths.directory.create()
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
        try paths.directory.update { (records) throws(PwdirError) in
            let i = try records.index(of: name)
            records[i][UserRecord.Key.lockedTime] = UserRecord.adminLockValue
        }
        print("locked \(name)")
    }
}

struct Unlock: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reactivate a locked account.")
    @OptionGroup var paths: Paths
    @Argument(help: "The login to unlock.") var name: String

    func validate() throws { try LoginName.validate(name) }

    func run() throws {
        _ = try paths.settings()
        try paths.directory.update { (records) throws(PwdirError) in
            let i = try records.index(of: name)
            records[i][UserRecord.Key.lockedTime] = nil
        }
        print("unlocked \(name)")
    }
}

extension Array where Element == UserRecord {
    /// Index of `login`, or `.userNotFound`.
    func index(of login: String) throws(PwdirError) -> Int {
        guard let i = firstIndex(where: { $0.login == login }) else { throw .userNotFound(login) }
        return i
    }
}
