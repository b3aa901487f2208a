import ArgumentParser
import PwdirCore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create an empty directory (mode 0600).")
    @OptionGroup var paths: PathOptions

    func run() throws {
        if Actor.underSudo { throw PwdirError.notAllowed("only root creates the directory: run 'pwdir init' as root, not through sudo") }
        let c = try CommandContext(paths)
        try c.authority.require(.initialize)
        try c.authority.perform(.initialize, target: nil, detail: c.paths.directory) { () throws(PwdirError) in try c.store.create() }
        print("created an empty directory at \(c.paths.directory)")
    }
}
