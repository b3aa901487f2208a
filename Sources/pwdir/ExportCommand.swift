import ArgumentParser
import Foundation
import PwdirCore

/// `pwdir export --ldif`: the directory as LDIF, to load into OpenLDAP (slapd with ppolicy and
/// `ldap/pwdir.schema`); `pwdir import --ldif` reads it back.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every account as LDIF (to move the directory to OpenLDAP; 'import --ldif' reads it back).",
        discussion: "Accounts are uid=LOGIN,ou=people,BASE (inetOrgPerson, pwdirAccount from ldap/pwdir.schema, posixAccount when they have numbers), their hashes as {CRYPT}, forced changes as pwdReset, locks and failed logins as pwdAccountLockedTime and pwdFailureTime. Load it with 'ldapadd -e relax' (the password policy's attributes are the server's own). Second factors are not exported."
    )
    @OptionGroup var paths: PathOptions
    @Flag(help: "Write LDIF (the one format).") var ldif = false
    @Option(help: "The base DN (default: ldap_base in pwdir.conf).") var base: String?

    func validate() throws {
        if !ldif { throw ValidationError("give --ldif (the one format export writes)") }
    }

    /// The base DN given, else ldap_base from the settings at `path`; checked.
    static func base(_ given: String?, settings: Settings, path: String) throws(PwdirError) -> String {
        guard let base = given ?? settings.ldapBase else {
            throw .invalidValue(field: "--base", reason: "no base DN: give --base dc=example,dc=org or set ldap_base in \(path)")
        }
        try LDIF.validateBase(base)
        return base
    }

    func run() throws {
        let c = try CommandContext(paths)
        try c.requireFileStore("export", "the accounts are on the LDAP server already (copy them with slapcat or ldapsearch)")
        try c.authority.require(.export)
        let base = try Self.base(base, settings: c.settings, path: c.paths.settings)
        let lockout = Lockout(settings: c.settings)
        let now = c.now
        var count = 0
        var damaged: [String] = []
        try c.authority.perform(.export, target: nil, detail: "LDIF under \(base)", outcome: { _ in "LDIF under \(base): \(count) accounts" }) { () throws(PwdirError) in
            // Written as it goes, a few hundred kilobytes at a time.
            var out = Data("version: 1\n\n".utf8)
            try c.store.forEachRecord(containing: nil) { (r) throws(PwdirError) in
                let reading = c.store.tally(r.login)
                var tally = reading.tally.map { lockout.normalized($0, now: now, generation: r.resetGeneration) }
                var locked = tally.map { lockout.isLocked($0, now: now) } ?? false
                if case .damaged = reading {
                    // Locked here (its tally cannot be read safely): locked there too.
                    tally = Tally(lockedTime: now)
                    locked = true
                    damaged.append(r.login)
                }
                out.append(contentsOf: LDIF.entry(r, tally: tally, locked: locked, base: base).utf8)
                count += 1
                if out.count > 256 * 1024 {
                    FileHandle.standardOutput.write(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
            FileHandle.standardOutput.write(out)
        }
        if !damaged.isEmpty {
            Output.warn("\(damaged.count) account\(damaged.count == 1 ? "" : "s") with a damaged failure tally (\(damaged.prefix(5).joined(separator: ", "))\(damaged.count > 5 ? ", …" : "")) exported locked, as they are here")
        }
        let enrolled = c.store.loginsWithSecondFactors().count
        if enrolled > 0 {
            Output.warn("\(enrolled) account\(enrolled == 1 ? " has" : "s have") a second factor, which is not exported: enrol \(enrolled == 1 ? "it" : "them") again after the move")
        }
    }
}

/// `pwdir ldap`: what an OpenLDAP server needs from pwdir.
struct LdapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ldap",
        abstract: "OpenLDAP: the password policy entry that says what pwdir.conf says.",
        subcommands: [LdapPolicy.self])
}

struct LdapPolicy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Print the ppolicy default entry (cn=default,ou=policies,BASE) made from pwdir.conf, as LDIF.",
        discussion: "deny, unlock_time, fail_interval, remember, minlen, maxage and warnage become pwdMaxFailure, pwdLockoutDuration, pwdFailureCountInterval, pwdInHistory, pwdMinLength, pwdMaxAge and pwdExpireWarning, so a client that talks to the server without pwdir meets the same rules (libpwquality's checks stay pwdir's).")
    @OptionGroup var paths: PathOptions
    @Option(help: "The base DN (default: ldap_base in pwdir.conf).") var base: String?

    func run() throws {
        let (settings, warnings) = try Settings.load(path: paths.paths.settings)
        for w in warnings { Output.warn(w) }
        let base = try ExportCommand.base(base, settings: settings, path: paths.paths.settings)
        print(LDIF.policy(settings, base: base), terminator: "")
    }
}
