import ArgumentParser
import PwdirCore

struct LockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lock", abstract: "Lock an account: no login until 'pwdir unlock'.")
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login to lock.") var name: String

    func run() throws {
        try LoginName.validate(name)
        let c = try CommandContext(paths)
        try c.authority.require(.lock, on: try c.store.record(name), targetName: name)
        let actor = c.authority.name
        let locked = try c.authority.perform(.lock, target: name, detail: "locked by hand") { () throws(PwdirError) -> UserRecord in
            try c.store.update(name) { (r) throws(PwdirError) -> UserRecord in
                r[UserRecord.Key.lockedTime] = UserRecord.adminLockValue
                r[UserRecord.Key.lockedBy] = actor
                r[UserRecord.Key.lockedSince] = GeneralizedTime.format(c.now)
                return r
            }
        }
        let published = c.publish(locked, previous: nil)
        print("locked \(name); 'pwdir unlock \(name)' reactivates it")
        if !published { throw ExitCode(1) }
    }
}
