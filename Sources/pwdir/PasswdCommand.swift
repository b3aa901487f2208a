import ArgumentParser
import Foundation
import PwdirCore

struct PasswdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Set a user's password: generated, from stdin, or typed twice at the terminal.",
        discussion: "By default the user must change an administrator-set password at the next login. A new password from an administrator also lifts a lock from failed logins; a lock set with 'pwdir lock' stays until 'pwdir unlock'."
    )
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login name.") var name: String
    @Flag(help: "Generate a random password per the policy; it is printed once, alone on the last line.") var generate = false
    @Flag(help: "Read the password from standard input (one line).") var stdin = false
    @Flag(name: .customLong("no-force-change"), help: "Do not require a change at the next login.") var noForceChange = false
    @Flag(name: .customLong("allow-weak"), help: "Accept a typed password that fails the policy (recorded in the directory and syslog).") var allowWeak = false
    @Flag(help: "Force a change at the next login without touching the password.") var expire = false
    @Flag(help: "With --generate: mail the password to the user (recovery email, else email) instead of printing it.") var send = false

    func validate() throws {
        if [generate, stdin, expire].filter({ $0 }).count > 1 { throw ValidationError("choose one of --generate, --stdin and --expire") }
        if allowWeak && (generate || expire) { throw ValidationError("--allow-weak applies to typed passwords only") }
        if expire && noForceChange { throw ValidationError("--expire and --no-force-change contradict each other") }
        if send && !generate { throw ValidationError("--send goes with --generate (a typed password is never mailed)") }
    }

    func run() throws {
        try LoginName.validate(name)
        let c = try CommandContext(paths)
        // Fail before asking for anything if the user does not exist.
        let record = try c.target(name, for: .passwd)

        if expire {
            guard record.hasPassword else {
                throw PwdirError.invalidValue(field: "--expire", reason: "\(name) has no password to expire; set one with 'pwdir passwd \(name) --generate'")
            }
            try c.authority.perform(.passwd, target: name, detail: "expired: change required at the next login") { () throws(PwdirError) in
                try c.store.update(name) { (r) throws(PwdirError) in r.mustChangePassword = true }
            }
            print("\(name) must change their password at the next login")
            return
        }

        if send {
            // Mailed, then stored: a password is never active that nobody received.
            let recipient = try record.requireMailRecipient()
            let results = try CredentialsBatch(context: c, mustChange: !noForceChange, action: .passwd).send(to: [record])
            guard let outcome = results.outcomes.first, outcome.result == "sent" else {
                throw PwdirError.mail(results.outcomes.first?.detail ?? "not sent")
            }
            let change = noForceChange ? "no change required" : "must be changed at the next login"
            print("password of \(name) generated and mailed to \(MailAddress.masked(recipient)) (\(change)); it is not shown" + (outcome.lockNote.map { "; \($0)" } ?? ""))
            return
        }

        let password: SecretBytes
        let weak: Bool
        if generate {
            password = try Self.generatePassing(user: name, settings: c.settings)
            weak = false
        } else {
            password = stdin ? try Terminal.readSecretFromStdin() : try Terminal.askTwice(for: name)
            weak = try Self.checkTyped(password, record: record, settings: c.settings, allowWeak: allowWeak)
        }
        let mustChange = !noForceChange
        let how = generate ? "generated" : weak ? "typed, against the policy (--allow-weak)" : "typed"
        let report = try c.authority.perform(.passwd, target: name, detail: how + (mustChange ? ", change required at the next login" : ""), outcome: { r in
            how + (mustChange ? ", change required at the next login" : "") + (Self.lockNote(r).map { "; \($0)" } ?? "")
        }) { () throws(PwdirError) -> PasswordReport in
            try c.store.setPassword(name, to: password, by: .administrator(mustChange: mustChange, weak: weak), settings: c.settings, now: c.now)
        }
        let change = mustChange ? "must be changed at the next login" : "no change required"
        // One write, so the password cannot be reordered against buffered text.
        var out = Data("password of \(name) set (\(change))".utf8)
        if weak { out.append(contentsOf: "; it fails the policy, as --allow-weak allowed (recorded)".utf8) }
        if let note = Self.lockNote(report) { out.append(contentsOf: "; \(note)".utf8) }
        if generate {
            out.append(contentsOf: "; it is shown once, below:\n".utf8)
            password.withBytes { out.append(contentsOf: $0) }
        }
        out.append(0x0A)
        FileHandle.standardOutput.write(out)
        out.resetBytes(in: 0..<out.count)
    }

    /// What a new password did to the account's locks, in words (nil: nothing to say).
    static func lockNote(_ r: PasswordReport) -> String? {
        var notes: [String] = []
        if r.liftedFailureLock { notes.append("its lock from failed logins is lifted") }
        if r.stillLockedByAdministrator { notes.append("it is still locked by an administrator until 'pwdir unlock'") }
        return notes.isEmpty ? nil : notes.joined(separator: "; ")
    }

    /// Applies the whole policy to a typed password; true when it fails it but `allowWeak`
    /// lets it through (never for an empty, NUL-holding or over-long one).
    static func checkTyped(_ password: SecretBytes, record: UserRecord, settings: Settings, allowWeak: Bool) throws(PwdirError) -> Bool {
        let policy = PasswordPolicy(settings: settings)
        do {
            try policy.check(password, user: record.login, old: nil, record: record, settings: settings)
            return false
        } catch {
            guard allowWeak, case .weakPassword = error else { throw error }
            try policy.check(password)
            return true
        }
    }

    /// A generated password that passes the whole policy (libpwquality included).
    static func generatePassing(user: String, settings: Settings) throws(PwdirError) -> SecretBytes {
        let policy = PasswordPolicy(settings: settings)
        var lastError: PwdirError?
        for _ in 0..<20 {
            let candidate = try PasswordGenerator.generate(bits: settings.generateBits, minLength: settings.minlen)
            do {
                try policy.check(candidate, user: user, old: nil, record: nil, settings: settings)
                return candidate
            } catch {
                // Only a weak candidate is worth another try; anything else (a missing
                // dictionary) refuses every password.
                guard case .weakPassword = error else { throw error }
                lastError = error
            }
        }
        throw PwdirError.invalidValue(field: "the password policy", reason: "no generated password passed it in 20 tries (\(lastError?.message ?? "?")); relax pwdir.conf")
    }
}
