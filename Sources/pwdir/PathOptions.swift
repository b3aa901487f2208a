import ArgumentParser
import Foundation
import PwdirCore

/// Where the directory and the settings are: --db/--config, else PWDIR_DB/PWDIR_CONFIG, else
/// the installed defaults.
struct PathOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The directory file (env PWDIR_DB; default \(Paths.defaultDirectory)).", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("The settings file (env PWDIR_CONFIG; default \(Paths.defaultSettings)).", valueName: "path"))
    var config: String?

    var paths: Paths {
        let env = ProcessInfo.processInfo.environment
        func pick(_ option: String?, _ variable: String, _ fallback: String) -> String {
            option ?? env[variable].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        }
        return Paths(directory: pick(db, "PWDIR_DB", Paths.defaultDirectory), settings: pick(config, "PWDIR_CONFIG", Paths.defaultSettings))
    }

    /// Under sudo, a manager must not point pwdir at another directory (an old backup where
    /// they were admin) or another settings file (one naming a `sendmail` that runs as root):
    /// --db and --config are refused unless they are the installed defaults. sudo's env_reset
    /// removes PWDIR_DB and PWDIR_CONFIG; pam/sudoers.pwdir never keeps them.
    func validate() throws {
        guard Actor.underSudo else { return }
        if let db, db != Paths.defaultDirectory { throw ValidationError("--db may not be given through sudo (the directory is \(Paths.defaultDirectory))") }
        if let config, config != Paths.defaultSettings { throw ValidationError("--config may not be given through sudo (the settings are \(Paths.defaultSettings))") }
        if ProcessInfo.processInfo.environment[Self.fromArgumentsVariable] != nil { throw ValidationError("--db and --config may not be given through sudo") }
    }

    static let fromArgumentsVariable = "PWDIR_COMMAND_PATHS_FROM_ARGS"

    /// `pwdir --db PATH COMMAND`: --db and --config given before the command apply to it
    /// (through PWDIR_DB / PWDIR_CONFIG; the same options after the command win).
    static func leadingPathsToEnvironment(_ arguments: [String]) -> [String] {
        var args = arguments
        let names = [("--db", "PWDIR_DB"), ("--config", "PWDIR_CONFIG")]
        scan: while let first = args.first {
            for (option, variable) in names {
                if first == option, args.count >= 2 {
                    setenv(variable, args[1], 1)
                    setenv(fromArgumentsVariable, "1", 1)
                    args.removeFirst(2)
                    continue scan
                }
                if first.hasPrefix(option + "=") {
                    setenv(variable, String(first.dropFirst(option.count + 1)), 1)
                    setenv(fromArgumentsVariable, "1", 1)
                    args.removeFirst()
                    continue scan
                }
            }
            break
        }
        return args
    }
}
