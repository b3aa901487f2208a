import ArgumentParser
import PwdirCore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create an empty directory (mode 0600).")
    @OptionGroup var paths: PathOptions
    @Option(help: ArgumentHelp("The directory's format: 2 (shards in DB.d/, the default) or 1 (one file, as pwdir 0.9 wrote it).", valueName: "1|2"))
    var format = 2

    func validate() throws {
        guard format == 1 || format == 2 else { throw ValidationError("--format is 1 or 2") }
    }

    func run() throws {
        try Actor.requireRootItself("creates the directory", command: "init")
        let c = try CommandContext(paths)
        try c.authority.require(.initialize)
        if c.settings.store == .ldap {
            try c.authority.perform(.initialize, target: nil, detail: c.store.location) { () throws(PwdirError) in try c.store.create(format: format) }
            print("created ou=people, ou=policies and the password policy under \(c.settings.ldapBase ?? "") on \(c.store.location)")
            return
        }
        try c.authority.perform(.initialize, target: nil, detail: c.paths.directory) { () throws(PwdirError) in try c.store.create(format: format) }
        print("created an empty directory at \(c.paths.directory) (format \(format))")
    }
}
