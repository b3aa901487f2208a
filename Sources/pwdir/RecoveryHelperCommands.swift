import ArgumentParser
import Foundation
import PwdirCore

/// Helpers the module runs (as root, clean environment): they read the login on stdin. With
/// --background they hand the work to a detached copy of themselves and return at once, so a
/// login prompt never waits for the MTA.
struct RecoveryRequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recovery-request", abstract: "(for pam_pwdir) mail a recovery code", shouldDisplay: false)
    @OptionGroup var paths: PathOptions
    @Flag var background = false

    func run() throws {
        try HelperRun.run(paths: paths, subcommand: "recovery-request", background: background) { desk, who, now in
            _ = desk.request(who, now: now)
        }
    }
}

struct RecoveryNoticeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recovery-notice", abstract: "(for pam_pwdir) mail a password-changed notice", shouldDisplay: false)
    @OptionGroup var paths: PathOptions
    @Flag var background = false

    func run() throws {
        try HelperRun.run(paths: paths, subcommand: "recovery-notice", background: background) { desk, who, now in
            if LoginName.isValid(who) { desk.notify(who, now: now) }
        }
    }
}

enum HelperRun {
    static func run(paths options: PathOptions, subcommand: String, background: Bool, _ work: (RecoveryDesk, String, Int64) -> Void) throws {
        guard Actor.isRoot, !Actor.underSudo else {
            throw PwdirError.notAllowed("\(subcommand) is run by pam_pwdir as root, not by people")
        }
        // Started from a setuid program (su), the real uid is the caller's: the MTA would read
        // their configuration and they could signal us. Become root entirely first.
        do { try Identity.becomeRoot() } catch { throw PwdirError.notAllowed("\(subcommand) cannot drop the caller's identity: \(error.message)") }
        let input = FileHandle.standardInput.readData(ofLength: 512)
        let value = String(decoding: input, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        let paths = options.paths
        // Only a login or an address goes further (an unauthenticated user typed it).
        guard !value.isEmpty, value.count <= 254, LoginName.isValid(value) || (try? MailAddress.validate(value, field: "who")) != nil else {
            if !background {
                let auditor = Auditor(log: AuditLog(settings: Settings(), directoryPath: paths.directory), directoryPath: paths.directory)
                auditor.record(actor: "pam", action: subcommand, target: PwdirError.printable(value), result: "refused", detail: "not a login or an address")
            }
            return
        }
        if background {
            // The login goes on the detached copy's stdin, never in argv (ps shows argv).
            let argv = [Identity.ownExecutable(), subcommand, "--db", paths.directory, "--config", paths.settings]
            try Subprocess.startDetached(argv, input: Array((value + "\n").utf8))
            return
        }
        let (settings, _) = try Settings.load(path: paths.settings)
        let store = try Stores.open(settings, paths: paths)
        let auditor = Auditor(settings: settings, paths: paths)
        let desk = RecoveryDesk(store: store, settings: settings, auditor: auditor, actor: "pam")
        work(desk, value, systemNow())
    }
}
