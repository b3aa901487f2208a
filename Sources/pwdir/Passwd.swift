import ArgumentParser
import Foundation
import PwdirCore

struct Passwd: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set a user's password: generated, from stdin, or typed twice at the terminal.",
        discussion: "By default the user must change an administrator-set password at the next login."
    )
    @OptionGroup var paths: Paths
    @Argument(help: "The login name.") var name: String
    @Flag(help: "Generate a random password per the policy; it is printed once, alone on the last line.") var generate = false
    @Flag(help: "Read the password from standard input (one line).") var stdin = false
    @Flag(name: .customLong("no-force-change"), help: "Do not require a change at the next login.") var noForceChange = false
    @Flag(name: .customLong("allow-weak"), help: "Accept a typed password that fails the policy (recorded).") var allowWeak = false

    func validate() throws {
        try LoginName.validate(name)
        if generate && stdin { throw ValidationError("--generate and --stdin cannot be used together") }
        if generate && allowWeak { throw ValidationError("--allow-weak applies to typed passwords, not generated ones") }
    }

    func run() throws {
        let settings = try paths.settings()
        let directory = paths.directory
        // Fail before asking for anything if the user does not exist.
        guard try directory.lookup(name) != nil else { throw PwdirError.userNotFound(name) }

        let password: SecretBytes
        if generate {
            password = try PasswordGenerator.generate(bits: settings.generateBits, minLength: settings.minlen)
        } else {
            password = stdin ? try Terminal.readSecretFromStdin() : try Terminal.askTwice(for: name)
            if !allowWeak { try PasswordPolicy(settings: settings).check(password) }
            else if password.count > Yescrypt.maxPasswordBytes || password.isEmpty || password.containsNUL {
                throw PwdirError.weakPassword("it is empty, longer than \(Yescrypt.maxPasswordBytes) bytes or holds a NUL byte")
            }
        }
        let hash = try Yescrypt.hashNew(password, cost: settings.yescryptCost)
        let now = systemNow()
        let mustChange = !noForceChange
        try directory.update { (records) throws(PwdirError) in
            let i = try records.index(of: name)
            records[i].setPassword(hash: hash, now: now, mustChange: mustChange)
        }
        let change = mustChange ? "must be changed at the next login" : "no change required"
        // One write, so the password cannot be reordered against buffered text.
        var out = Data("password of \(name) set (\(change))".utf8)
        if generate {
            out.append(contentsOf: "; it is shown once, below:\n".utf8)
            password.withBytes { out.append(contentsOf: $0) }
        }
        out.append(0x0A)
        FileHandle.standardOutput.write(out)
        out.resetBytes(in: 0..<out.count)
    }
}
