import ArgumentParser
import PwdirCore

/// `pwdir migrate`: a directory of format 1 (one file) becomes format 2 (shards) in one step.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Turn a directory of format 1 (one file) into format 2 (shards in DB.d/), in one step.",
        discussion: "Every user is checked as every change checks them; the format-1 file stays as DB- until the next change. Running it again does nothing.")
    @OptionGroup var paths: PathOptions

    func run() throws {
        try Actor.requireRootItself("migrates the directory", command: "migrate")
        let c = try CommandContext(paths)
        try c.requireFileStore("migrate", "an LDAP store has no layout to migrate")
        try c.authority.require(.migrate)
        let migrated = try c.authority.perform(.migrate, target: nil, detail: c.paths.directory,
                                               outcome: { (n: Int?) in n.map { "format 1 to 2, \($0) users" } ?? "already format 2" }) { () throws(PwdirError) in
            try c.store.migrate()
        }
        if let migrated {
            print("migrated \(c.paths.directory) to format 2: \(migrated) user\(migrated == 1 ? "" : "s") in \(c.paths.directory).d/ (the old file is \(c.paths.directory)-)")
        } else {
            print("\(c.paths.directory) is already of format 2; nothing to do")
        }
    }
}
