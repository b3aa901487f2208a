import ArgumentParser
import PwdirCore

/// `pwdir recover NAME|EMAIL`: the help desk starts the self-service flow for a user.
struct RecoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Mail a one-time recovery code to a user (by login or address); they type it at the login prompt.",
        discussion: "Needs 'recovery = yes' for the code to be accepted at the prompt. A user without a recovery address (and whose email is not a real mailbox) must go through their manager."
    )
    @OptionGroup var paths: PathOptions
    @Argument(help: "The user's login, or an address mail goes to.") var who: String

    func run() throws {
        let c = try CommandContext(paths)
        guard let target = try RecoveryDesk.find(who, in: c.store) else { throw PwdirError.userNotFound(who) }
        try c.authority.require(.recover, on: target)
        let desk = RecoveryDesk(store: c.store, settings: c.settings, auditor: c.auditor, actor: c.authority.name)
        switch desk.request(who, now: c.now) {
        case let .sent(recipient):
            print("a recovery code for \(target.login) was sent to \(recipient); it is valid \(c.settings.recoveryTTL / 60) minutes")
            if !c.settings.recovery { print("note: 'recovery = yes' is not set: the login prompt will not accept the code") }
        case .unknown:
            throw PwdirError.userNotFound(who)
        case let .noAddress(login):
            throw PwdirError.invalidValue(field: "recover", reason: "\(login) has no recovery address and no real mailbox: set one with 'pwdir user modify \(login) --recovery-email ADDRESS', or reset the password with 'pwdir passwd \(login) --generate'")
        case let .locked(login):
            throw PwdirError.invalidValue(field: "recover", reason: "\(login) is locked: unlock it first with 'pwdir unlock \(login)'")
        case let .rateLimited(login, retryAfter):
            throw PwdirError.rateLimited(login: login, retryAfter: retryAfter)
        case let .failed(_, reason):
            throw PwdirError.mail(reason)
        }
    }
}
