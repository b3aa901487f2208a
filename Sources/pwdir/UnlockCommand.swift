import ArgumentParser
import PwdirCore

struct UnlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unlock", abstract: "Reactivate an account locked by hand or by failed logins (clears the failure count).")
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login to unlock.") var name: String

    func run() throws {
        try LoginName.validate(name)
        let c = try CommandContext(paths)
        let target = try c.store.record(name)
        try c.authority.require(.unlock, on: target, targetName: name)
        if c.authority.isManager, let target, target.isAdminLocked, target[UserRecord.Key.lockedBy] != c.authority.name {
            let by = target[UserRecord.Key.lockedBy] ?? "an administrator"
            c.auditor.record(actor: c.authority.name, action: Action.unlock.rawValue, target: name, result: "refused", detail: "locked by \(by)")
            throw PwdirError.notAllowed("\(c.authority.name) may not unlock \(name): it was locked by \(by); a manager lifts only locks from failed logins and their own")
        }
        let report = try c.authority.perform(.unlock, target: name, outcome: Self.describe) { () throws(PwdirError) -> UnlockReport in
            try c.store.unlock(name, settings: c.settings, now: c.now)
        }
        let published = c.publish { (folder) throws(PwdirError) in  // the unlocked record, read again (unlock reports, not returns it)
            if let unlocked = try c.store.record(name) { try folder.publish(unlocked) }
        }
        print("unlocked \(name) (\(Self.describe(report)))")
        if !published { throw ExitCode(1) }
    }

    static func describe(_ r: UnlockReport) -> String {
        var reasons: [String] = []
        if r.wasAdministratorLocked { reasons.append("locked by \(r.administratorLockBy ?? "an administrator")") }
        if let n = r.failureLock { reasons.append("locked after \(n) failed logins") }
        else if r.failuresCleared > 0 { reasons.append("\(r.failuresCleared) failed login\(r.failuresCleared == 1 ? "" : "s") cleared") }
        if r.tallyWasDamaged { reasons.append("its damaged failure tally replaced") }
        return reasons.isEmpty ? "was not locked" : reasons.joined(separator: ", ")
    }
}
