import ArgumentParser
import CPwdirSys
import Foundation
import PwdirCore
import PwdirMail

/// The recovery desk: makes, stores (as a hash) and mails a one-time code. Used by the module
/// through the hidden `recovery-request` helper and by the help desk's `pwdir recover`.
struct RecoveryDesk {
    let paths: Paths
    let settings: Settings
    let auditor: Auditor
    let actor: String

    enum Outcome {
        case sent(recipient: String)
        case unknown
        case noAddress(login: String)
        case locked(login: String)
        case rateLimited(login: String, retryAfter: Int64)
        case failed(login: String, reason: String)
    }

    /// Finds the user by login, or by an address mail may go to (recovery email, or a real
    /// login email), case-insensitively.
    static func find(_ who: String, in records: [UserRecord]) -> UserRecord? {
        if let r = records.first(where: { $0.login == who }) { return r }
        let needle = who.lowercased()
        return records.first { r in
            r.recoveryMail?.lowercased() == needle || (!r.hasNoMailbox && r.mail?.lowercased() == needle)
        }
    }

    func request(_ who: String, now: Int64) -> Outcome {
        let shown = PwdirError.printable(who)
        func note(_ target: String, _ result: String, _ detail: String) {
            auditor.record(actor: actor, action: "recovery code", target: target, result: result, detail: detail)
        }
        let records: [UserRecord]
        do { records = try paths.directory.load() } catch {
            note(shown, "failed", error.message)
            return .failed(login: shown, reason: error.message)
        }
        guard let record = Self.find(who, in: records) else {
            // What was typed is not recorded: it may be a password typed in the login field.
            note("(unknown)", "refused", "unknown login or address")
            return .unknown
        }
        let login = record.login
        guard record.mailRecipient != nil else {
            note(login, "refused", "no recovery address: the user must go through their manager")
            return .noAddress(login: login)
        }
        let tallies = TallyStore(directory: paths.directory)
        let tally = (try? tallies.read(login)) ?? FailureTally()
        let state = AccountState(record: record, tally: tally, settings: settings, now: now)
        if state.lockReason == .administrator || state.lockReason == .failures {
            note(login, "refused", "account locked (\(state.lockReason!.rawValue)): only an administrator or manager unlocks it")
            return .locked(login: login)
        }
        do {
            let code = try RecoveryCode.generate()
            let hash = try Yescrypt.hashNew(RecoveryCode.normalize(code), cost: settings.yescryptCost)
            let expires = now + settings.recoveryTTL
            // Checked and stored under the tallies' lock: parallel requests make one code.
            var previousSent: Int64?
            let interval = settings.recoveryInterval
            try tallies.update(login) { t in
                if let previous = t.recovery, now - previous.sent < interval {
                    previousSent = previous.sent
                    return
                }
                t.recovery = RecoveryCode(hash: hash, sent: now, expires: expires, tries: 0)
            }
            if let previousSent {
                note(login, "refused", "a code was sent less than \(interval) s ago")
                return .rateLimited(login: login, retryAfter: previousSent + interval)
            }
            do {
                let recipient = try Mailer(settings: settings).send(.recoveryCode, to: record, values: [
                    "code": code.withBytes { String(decoding: $0, as: UTF8.self) },
                    "expires": GeneralizedTime.readable(expires),
                ], now: now)
                note(login, "ok", "sent to \(MailAddress.masked(recipient)), valid until \(GeneralizedTime.readable(expires))")
                return .sent(recipient: MailAddress.masked(recipient))
            } catch {
                // A code nobody received is never left valid (unless another request
                // replaced it meanwhile).
                _ = try? tallies.update(login) { t in if t.recovery?.hash == hash { t.recovery = nil } }
                throw error
            }
        } catch {
            let message = (error as? PwdirError)?.message ?? "\(error)"
            note(login, "failed", message)
            return .failed(login: login, reason: message)
        }
    }

    /// The notice after a recovery: "your password was changed".
    func notify(_ login: String, now: Int64) {
        guard let record = try? paths.directory.lookup(login), record.mailRecipient != nil else { return }
        do {
            let to = try Mailer(settings: settings).send(.passwordChanged, to: record, values: [:], now: now)
            auditor.record(actor: actor, action: "recovery notice", target: login, result: "ok", detail: "sent to \(MailAddress.masked(to))")
        } catch {
            auditor.record(actor: actor, action: "recovery notice", target: login, result: "failed", detail: error.message)
        }
    }
}

/// `pwdir recover NAME|EMAIL`: the help desk starts the self-service flow for a user.
struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mail a one-time recovery code to a user (by login or address); they type it at the login prompt.",
        discussion: "Needs 'recovery = yes' for the code to be accepted at the prompt. A user without a recovery address (and whose email is not a real mailbox) must go through their manager."
    )
    @OptionGroup var paths: Paths
    @Argument(help: "The user's login, or an address mail goes to.") var who: String

    func run() throws {
        let settings = try paths.settings()
        let records = try paths.directory.load()
        let auth = try paths.authority(records)
        guard let target = RecoveryDesk.find(who, in: records) else { throw PwdirError.userNotFound(who) }
        try auth.require(.recover, on: target)
        let desk = RecoveryDesk(paths: paths, settings: settings, auditor: auth.audit, actor: auth.name)
        switch desk.request(who, now: systemNow()) {
        case let .sent(recipient):
            print("a recovery code for \(target.login) was sent to \(recipient); it is valid \(settings.recoveryTTL / 60) minutes")
            if !settings.recovery { print("note: 'recovery = yes' is not set: the login prompt will not accept the code") }
        case .unknown:
            throw PwdirError.userNotFound(who)
        case let .noAddress(login):
            throw CommandFailure(message: "\(login) has no recovery address and no real mailbox: set one with 'pwdir user modify \(login) --recovery-email ADDRESS', or reset the password with 'pwdir passwd \(login) --generate'", status: 2)
        case let .locked(login):
            throw CommandFailure(message: "\(login) is locked: unlock it first with 'pwdir unlock \(login)'", status: 2)
        case let .rateLimited(login, retryAfter):
            throw CommandFailure(message: "a code was sent to \(login) less than \(settings.recoveryInterval) s ago and is still valid; a new one can be sent after \(GeneralizedTime.readable(retryAfter))", status: 6)
        case let .failed(_, reason):
            throw CommandFailure(message: reason, status: 7)
        }
    }
}

/// Helpers the module runs (as root, clean environment): they read the login on stdin. With
/// --background they hand the work to a detached copy of themselves and return at once, so a
/// login prompt never waits for the MTA and takes the same time for every login.
struct RecoveryRequest: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recovery-request", abstract: "(for pam_pwdir) mail a recovery code", shouldDisplay: false)
    @OptionGroup var paths: Paths
    @Flag var background = false

    func run() throws {
        try HelperRun.run(paths: paths, subcommand: "recovery-request", background: background) { desk, who, now in
            _ = desk.request(who, now: now)
        }
    }
}

struct RecoveryNotice: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recovery-notice", abstract: "(for pam_pwdir) mail a password-changed notice", shouldDisplay: false)
    @OptionGroup var paths: Paths
    @Flag var background = false

    func run() throws {
        try HelperRun.run(paths: paths, subcommand: "recovery-notice", background: background) { desk, who, now in
            if LoginName.isValid(who) { desk.notify(who, now: now) }
        }
    }
}

enum HelperRun {
    static func run(paths: Paths, subcommand: String, background: Bool, _ work: (RecoveryDesk, String, Int64) -> Void) throws {
        guard geteuid() == 0, (ProcessInfo.processInfo.environment["SUDO_USER"] ?? "root") == "root" else {
            throw CommandFailure(message: "\(subcommand) is run by pam_pwdir as root, not by people", status: 77)
        }
        // Started from a setuid program (su), the real uid is the caller's: the MTA would read
        // their configuration and they could signal us. Become root entirely first.
        guard cpwdir_become_root() == 0 else {
            throw CommandFailure(message: "\(subcommand) cannot drop the caller's identity", status: 77)
        }
        let input = FileHandle.standardInput.readData(ofLength: 512)
        let value = String(decoding: input, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        // Only a login or an address goes further (an unauthenticated user typed it).
        guard !value.isEmpty, value.count <= 254, LoginName.isValid(value) || (try? MailAddress.validate(value, field: "who")) != nil else {
            if !background {
                paths.auditor.record(actor: "pam", action: subcommand, target: PwdirError.printable(value), result: "refused", detail: "not a login or an address")
            }
            return
        }
        if background {
            // The login goes on the detached copy's stdin, never in argv (ps shows argv).
            let argv = [selfPath(), subcommand, "--db", paths.dbPath, "--config", paths.configPath]
            let cArgs = argv.map { strdup($0) } + [nil]
            let cEnv = Subprocess.cleanEnvironment.map { strdup($0) } + [nil]
            defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
            let line = Array((value + "\n").utf8)
            if line.withUnsafeBytes({ cpwdir_spawn_background(cArgs, cEnv, $0.baseAddress, $0.count) }) < 0 {
                throw CommandFailure(message: "cannot start \(argv[0]) in the background", status: 1)
            }
            return
        }
        let settings = try paths.settings()
        let desk = RecoveryDesk(paths: paths, settings: settings, auditor: paths.auditor, actor: "pam")
        work(desk, value, systemNow())
    }

    static func selfPath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
