import Foundation
import PwdirCore

/// What the command shows of a user: attributes and account state, never the hash.
struct UserView: Codable {
    var login: String
    var fullName: String?
    var email: String?
    var recoveryEmail: String?
    var role: String
    var manager: String?
    var noMailbox: Bool
    var lang: String?
    /// The account as the system sees it (published as a userdb record), if it has a uid number.
    var uidNumber: UInt32?
    var gidNumber: UInt32?
    var homeDirectory: String?
    var loginShell: String?
    /// Where mail for this user goes (masked), if anywhere.
    var mailRecipient: String?
    var hasPassword: Bool
    /// Can this account log in now?
    var usable: Bool
    var locked: Bool
    var lockReason: String?
    var lockedSince: String?
    /// When the lock lifts by itself; absent while locked: only an administrator unlocks.
    var lockedUntil: String?
    var lockedBy: String?
    /// Why the failure tally cannot be read, when it cannot (the account counts as locked).
    var tallyDamage: String?
    var failures: Int
    var lastFailure: String?
    var mustChangePassword: Bool
    var passwordChanged: String?
    var passwordAgeDays: Int?
    var passwordExpires: String?
    var passwordExpired: Bool
    var temporaryPasswordExpires: String?
    var policyOverride: String?
    var created: String?

    init(_ r: UserRecord, tally reading: TallyReading, settings: Settings, now: Int64) {
        var damage: String?
        switch reading {
        case let .damaged(why): damage = why
        case let .unavailable(error): damage = error.message
        case .tally: break
        }
        let state = AccountState(record: r, tally: reading.tally, tallyDamage: damage, settings: settings, now: now)
        login = r.login
        fullName = r.fullName
        email = r.mail
        recoveryEmail = r.recoveryMail
        role = r.role.rawValue
        manager = r.manager
        noMailbox = r.hasNoMailbox
        lang = r.language?.rawValue
        (uidNumber, gidNumber, homeDirectory, loginShell) = (r.uidNumber, r.gidNumber, r.homeDirectory, r.loginShell)
        mailRecipient = r.mailRecipient.map(MailAddress.masked)
        hasPassword = r.hasPassword
        usable = state.usable
        locked = state.lockReason?.isLock ?? false
        tallyDamage = state.tallyDamage
        lockReason = state.lockReason?.rawValue
        lockedSince = state.lockedSince.map(isoDate)
        lockedUntil = state.lockedUntil.map(isoDate)
        lockedBy = state.lockedBy
        failures = state.failures
        lastFailure = state.lastFailure.map(isoDate)
        mustChangePassword = state.mustChange
        passwordChanged = state.passwordChanged.map(isoDate)
        passwordAgeDays = state.passwordChanged.map { Int(max(0, now - $0) / 86400) }
        passwordExpires = state.passwordExpires.map(isoDate)
        passwordExpired = state.passwordExpired
        temporaryPasswordExpires = state.temporaryExpires.map(isoDate)
        policyOverride = r[UserRecord.Key.policyOverride].flatMap(GeneralizedTime.parse).map(isoDate)
        created = r[UserRecord.Key.created].flatMap(GeneralizedTime.parse).map(isoDate)
    }

    /// One word for the list: what stands between this user and a login.
    var status: String {
        if let lockReason, lockReason != LockReason.noPassword.rawValue { return "locked" }
        if !hasPassword { return "no-password" }
        if mustChangePassword || passwordExpired { return "must-change" }
        return "active"
    }

    /// "is this account usable, and if not, why and until when", in one line.
    var usability: String {
        switch lockReason.flatMap(LockReason.init(rawValue:)) {
        case .administrator?:
            return "no: locked by \(lockedBy ?? "an administrator")" + (lockedSince.map { " since \($0)" } ?? "") + ", until 'pwdir unlock \(login)'"
        case .failures?:
            return "no: locked after \(failures) failed logins since \(lockedSince ?? "?")" + (lockedUntil.map { ", until \($0) or 'pwdir unlock \(login)'" } ?? ", until 'pwdir unlock \(login)'")
        case .damagedTally?:
            return "no: its failure tally cannot be read safely (\(tallyDamage ?? "?")), so it counts as locked, until 'pwdir unlock \(login)'"
        case .temporaryPasswordExpired?:
            return "no: the temporary password expired unused on \(temporaryPasswordExpires ?? "?"); set a new one with 'pwdir passwd \(login)'"
        case .noPassword?:
            return "no: no password yet; set one with 'pwdir passwd \(login)'"
        case nil:
            if mustChangePassword { return "yes, but the password must be changed at the next login" }
            if passwordExpired { return "yes, but the password expired and must be changed at the next login" }
            return "yes"
        }
    }

    var details: String {
        var lines: [(String, String)] = [("login", login)]
        if let fullName { lines.append(("full name", Output.shown(fullName))) }
        if let email { lines.append(("email", email + (noMailbox ? " (no mailbox)" : ""))) }
        if let recoveryEmail { lines.append(("recovery email", recoveryEmail)) }
        lines.append(("mail goes to", mailRecipient ?? "nowhere (no usable address)"))
        if let lang { lines.append(("language", lang)) }
        lines.append(("role", role))
        if let manager { lines.append(("manager", manager)) }
        if let uidNumber {
            lines.append(("account", "uid \(uidNumber), gid \(gidNumber ?? uidNumber), home \(Output.shown(homeDirectory ?? "?")), shell \(Output.shown(loginShell ?? "?"))"))
        }
        lines.append(("usable", usability))
        lines.append(("failed logins", failures == 0 ? "0" : "\(failures), last on \(lastFailure ?? "?")"))
        var password = hasPassword ? "set" : "none"
        if let passwordChanged { password += " on \(passwordChanged)" }
        if let passwordAgeDays { password += " (\(passwordAgeDays) days ago)" }
        if let temporaryPasswordExpires { password += "; temporary, usable until \(temporaryPasswordExpires)" }
        if let passwordExpires { password += passwordExpired ? "; expired on \(passwordExpires)" : "; expires on \(passwordExpires)" }
        if let policyOverride { password += "; set against the policy (--allow-weak) on \(policyOverride)" }
        lines.append(("password", password))
        lines.append(("must change", mustChangePassword ? "yes, at the next login" : "no"))
        if let created { lines.append(("created", created)) }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    /// A table (login, name, email, role, status) or one JSON document `{"users": [...]}`.
    /// `{"users": [...]}` written one user at a time (the same document `output` writes), so a
    /// listing of any size needs the memory of one user.
    struct JSONStream {
        private let encoder = Output.jsonEncoder()
        private var buffer: [UInt8] = []
        private var count = 0

        init() {
            buffer = Array("{\n  \"users\" : [".utf8)
        }

        mutating func append(_ view: UserView) throws(PwdirError) {
            let data: Data
            do { data = try encoder.encode(view) } catch { throw .invalidValue(field: "JSON output", reason: "\(error)") }
            buffer += (count == 0 ? "\n" : ",\n").utf8
            buffer += "    ".utf8
            for b in data {
                buffer.append(b)
                if b == 0x0A { buffer += "    ".utf8 }
            }
            count += 1
            if buffer.count >= 1 << 16 { flush() }
        }

        mutating func finish() {
            buffer += (count == 0 ? "\n\n  ]\n}\n" : "\n  ]\n}\n").utf8
            flush()
        }

        private mutating func flush() {
            FileHandle.standardOutput.write(Data(buffer))
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// Shows the users the actor may see for `action` that `keepRecord` and `keep` accept, in
    /// login order: as JSON one at a time as the store reads them; as text once the column
    /// widths are known.
    static func each(_ c: CommandContext, _ action: Action, containing needle: String? = nil, record keepRecord: (UserRecord) -> Bool = { _ in true },
                     view keep: (UserView) -> Bool = { _ in true }, json: Bool) throws(PwdirError) {
        var stream = json ? JSONStream() : nil
        var views: [UserView] = []
        try c.store.forEachRecord(containing: needle) { (r) throws(PwdirError) in
            guard keepRecord(r), c.authority.allows(action, on: r) else { return }
            let v = c.view(r)
            guard keep(v) else { return }
            if stream != nil { try stream!.append(v) } else { views.append(v) }
        }
        if stream != nil { stream!.finish() } else { try output(views, json: false) }
    }

    static func output(_ views: [UserView], json: Bool) throws(PwdirError) {
        if json {
            try Output.json(["users": views])
            return
        }
        let rows = [["LOGIN", "NAME", "EMAIL", "ROLE", "STATUS"]] + views.map {
            [$0.login, Output.shown($0.fullName ?? "-"), Output.shown($0.email ?? "-"), $0.role, $0.status]
        }
        let widths = (0..<5).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { c, v in c == 4 ? v : v.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
            print(cells.joined(separator: "  "))
        }
    }
}

func isoDate(_ epoch: Int64) -> String {
    let g = GeneralizedTime.format(epoch)  // YYYYMMDDHHMMSSZ
    let c = Array(g)
    return "\(String(c[0..<4]))-\(String(c[4..<6]))-\(String(c[6..<8]))T\(String(c[8..<10])):\(String(c[10..<12])):\(String(c[12..<14]))Z"
}
