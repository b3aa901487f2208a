import ArgumentParser
import CPwdirQR
import Foundation
import PwdirCore
import PwdirMail

/// `pwdir totp`: a user's second factor (a TOTP key for an authenticator app, and recovery codes).
struct TotpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "totp",
        abstract: "Second factor: give a user a TOTP key for an authenticator app, show, remove, recovery codes.",
        discussion: "The code is asked at login after the password when totp = optional or required in pwdir.conf. Keys are kept root-only beside the directory (users.totp/), never in the user's home.",
        subcommands: [TotpEnroll.self, TotpShow.self, TotpRemove.self, TotpRecoveryCodes.self])
}

struct TotpEnroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Make a TOTP key for a user and show it as an otpauth:// URI and a QR code to scan.",
        discussion: "The key (160 bits from the kernel) is shown once. A user who has one already keeps it: remove it first.")
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login.") var name: String
    @Flag(help: "Mail the enrolment to the user (recovery email, else email) instead of showing it. With recovery = yes, that mailbox then holds both factors: prefer showing it in person.") var send = false

    func run() throws {
        try LoginName.validate(name)
        let c = try CommandContext(paths)
        let record = try c.target(name, for: .totpEnroll)
        if let e = try c.store.secondFactor(name) {
            throw PwdirError.invalidValue(field: "totp", reason: "\(name) has had a second factor since \(GeneralizedTime.readable(e.created)); remove it first with 'pwdir totp remove \(name)'")
        }
        let key = try Totp.newKey()
        let uri = Totp.uri(key: key, login: name, issuer: c.settings.totpIssuer)
        if send {
            // Mailed, then stored: a key is never active that nobody received.
            let recipient = try record.requireMailRecipient()
            try c.authority.perform(.totpEnroll, target: name, detail: "mailed to \(MailAddress.masked(recipient))") { () throws(PwdirError) in
                _ = try Mailer(settings: c.settings).send(.totpEnrolment, to: record, values: [
                    "uri": uri.withBytes { String(decoding: $0, as: UTF8.self) },
                    "secret": String(decoding: Base32.encode(key), as: UTF8.self),
                    "issuer": c.settings.totpIssuer,
                ], now: c.now)
                try c.store.enrolSecondFactor(name, key: key, now: c.now)
            }
            print("second factor of \(name) made and mailed to \(MailAddress.masked(recipient)); it is not shown" + Self.policyNote(c.settings))
            if c.settings.recovery {
                Output.warn("recovery = yes mails recovery codes to the same address: whoever reads that mailbox now holds both factors; prefer showing the QR code in person")
            }
            return
        }
        // Drawn before anything is stored: a URI too long for a QR code changes nothing.
        let qr = try uri.withCString { try QRText.render($0, colors: isatty(1) == 1) }
        try c.authority.perform(.totpEnroll, target: name, detail: "shown") { () throws(PwdirError) in
            try c.store.enrolSecondFactor(name, key: key, now: c.now)
        }
        var out = Data("second factor of \(name) made; scan the QR code below with an authenticator app, or type the key. It is shown once\(Self.policyNote(c.settings))\n".utf8)
        uri.withBytes { out.append(contentsOf: $0) }
        out.append(0x0A)
        out.append(contentsOf: qr.utf8)
        out.append(contentsOf: "key: ".utf8)
        out.append(contentsOf: Base32.encode(key))
        out.append(0x0A)
        FileHandle.standardOutput.write(out)
        out.resetBytes(in: 0..<out.count)
    }

    static func policyNote(_ settings: Settings) -> String {
        settings.totp == .off ? " (totp = off in pwdir.conf: the code is not asked at login until it is optional or required)" : ""
    }
}

struct TotpShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Say whether a user has a second factor, since when, when it was last used (never the key).")
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login.") var name: String

    func run() throws {
        try LoginName.validate(name)
        let c = try CommandContext(paths)
        _ = try c.target(name, for: .totpShow)
        let summary = try c.store.secondFactor(name)
        c.auditor.record(actor: c.authority.name, action: Action.totpShow.rawValue, target: name, result: "ok")
        guard let s = summary else {
            print("\(name): no second factor" + (c.settings.totp == .required ? " (totp = required: this user cannot log in until enrolled)" : ""))
            return
        }
        print("\(name): second factor since \(GeneralizedTime.readable(s.created))")
        print("last used: \(s.lastUsed.map(GeneralizedTime.readable) ?? "never")")
        print("recovery codes: " + (s.recoveryCodes == 0 ? "none ('pwdir totp recovery-codes \(name)' makes them)" : "\(s.recoveryCodesLeft) of \(s.recoveryCodes) left"))
        if c.settings.totp == .off { print("note: totp = off in pwdir.conf: the code is not asked at login") }
    }
}

struct TotpRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a user's second factor (a lost phone): their key, state and recovery codes.")
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login.") var name: String

    func run() throws {
        try LoginName.validate(name)
        let c = try CommandContext(paths)
        _ = try c.target(name, for: .totpRemove)
        // Not read first: a damaged key file is removed like any other.
        guard c.store.hasSecondFactor(name) else {
            throw PwdirError.invalidValue(field: "totp", reason: "\(name) has no second factor; nothing was changed")
        }
        try c.authority.perform(.totpRemove, target: name) { () throws(PwdirError) in
            _ = try c.store.removeSecondFactor(name)
        }
        print("second factor of \(name) removed" + (c.settings.totp == .required ? "; totp = required: they cannot log in until 'pwdir totp enroll \(name)'" : ""))
    }
}

struct TotpRecoveryCodes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recovery-codes",
        abstract: "Make ten single-use recovery codes for a user's second factor, shown once; earlier ones stop working.")
    @OptionGroup var paths: PathOptions
    @Argument(help: "The login.") var name: String

    func run() throws {
        try LoginName.validate(name)
        let c = try CommandContext(paths)
        _ = try c.target(name, for: .totpRecoveryCodes)
        guard try c.store.secondFactor(name) != nil else {
            throw PwdirError.invalidValue(field: "totp", reason: "\(name) has no second factor; enrol it first with 'pwdir totp enroll \(name)'")
        }
        // Each code hashed with yescrypt; only the hashes (and each code's first group) are kept.
        var codes: [SecretBytes] = []
        var stored: [TotpRecoveryCode] = []
        while codes.count < TotpRecoveryCode.count {
            let code = try RecoveryCode.generate()
            let plain = RecoveryCode.normalize(code)
            let tag = TotpRecoveryCode.tag(of: plain)
            if stored.contains(where: { $0.tag == tag }) { continue }  // one code per tag: one hash per try
            stored.append(TotpRecoveryCode(tag: tag, hash: try Yescrypt.hashNew(plain, cost: c.settings.yescryptCost)))
            codes.append(code)
        }
        try c.authority.perform(.totpRecoveryCodes, target: name, detail: "\(codes.count) new codes, earlier ones revoked") { () throws(PwdirError) in
            try c.store.setSecondFactorRecoveryCodes(name, stored)
        }
        var out = Data("\(codes.count) recovery codes for \(name), each usable once in place of a verification code; they are shown once, below:\n".utf8)
        for code in codes {
            code.withBytes { out.append(contentsOf: $0) }
            out.append(0x0A)
        }
        FileHandle.standardOutput.write(out)
        out.resetBytes(in: 0..<out.count)
    }
}

/// A QR code drawn with text: two rows of modules per line (█ ▀ ▄ and space), a quiet zone of
/// four modules around. With `colors`, each line is black on bright white whatever the
/// terminal's theme (a scanner wants dark on light).
enum QRText {
    static let quietZone = 4

    static func render(_ text: UnsafePointer<CChar>, colors: Bool) throws(PwdirError) -> String {
        var modules: UnsafeMutablePointer<UInt8>?
        let width = Int(cpwdir_qr_encode(text, &modules))
        guard width > 0, let modules else {
            throw .invalidValue(field: "QR code", reason: "libqrencode could not encode the URI (\(String(cString: strerror(errno)))); make totp_issuer shorter")
        }
        defer {
            memset(modules, 0, width * width)
            free(modules)
        }
        let side = width + 2 * quietZone
        func dark(_ x: Int, _ y: Int) -> Bool {
            let (mx, my) = (x - quietZone, y - quietZone)
            return mx >= 0 && my >= 0 && mx < width && my < width && modules[my * width + mx] != 0
        }
        var out = ""
        var y = 0
        while y < side {
            var line = colors ? "\u{1B}[30;107m" : ""
            for x in 0..<side {
                switch (dark(x, y), dark(x, y + 1)) {
                case (true, true): line += "\u{2588}"
                case (true, false): line += "\u{2580}"
                case (false, true): line += "\u{2584}"
                case (false, false): line += " "
                }
            }
            out += line + (colors ? "\u{1B}[0m\n" : "\n")
            y += 2
        }
        return out
    }
}
