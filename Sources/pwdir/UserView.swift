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
    var hasPassword: Bool
    var locked: Bool
    var lockReason: String?
    var mustChangePassword: Bool
    var passwordChanged: String?
    var passwordAgeDays: Int?
    var created: String?

    init(_ r: UserRecord, settings: Settings, now: Int64) {
        login = r.login
        fullName = r.fullName
        email = r.mail
        recoveryEmail = r.recoveryMail
        role = r.role.rawValue
        manager = r.manager
        hasPassword = r.hasPassword
        locked = r.isAdminLocked
        lockReason = r.isAdminLocked ? "administrator" : nil
        mustChangePassword = r.mustChangePassword
        let changed = r.passwordChangedTime
        passwordChanged = changed.map(isoDate)
        passwordAgeDays = changed.map { Int(max(0, now - $0) / 86400) }
        created = r[UserRecord.Key.created].flatMap(GeneralizedTime.parse).map(isoDate)
    }

    /// One word for the list: what stands between this user and a login.
    var status: String {
        if locked { return "locked" }
        if !hasPassword { return "no-password" }
        if mustChangePassword { return "must-change" }
        return "active"
    }

    var details: String {
        var lines: [(String, String)] = [("login", login)]
        if let fullName { lines.append(("full name", fullName)) }
        if let email { lines.append(("email", email)) }
        if let recoveryEmail { lines.append(("recovery email", recoveryEmail)) }
        lines.append(("role", role))
        if let manager { lines.append(("manager", manager)) }
        lines.append(("status", status))
        lines.append(("password", hasPassword ? "set" + (passwordChanged.map { " on \($0)" } ?? "") + (passwordAgeDays.map { " (\($0) days ago)" } ?? "") : "none (cannot log in)"))
        lines.append(("must change", mustChangePassword ? "yes, at next login" : "no"))
        lines.append(("locked", locked ? "yes, by an administrator, until 'pwdir unlock \(login)'" : "no"))
        if let created { lines.append(("created", created)) }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    /// A table (login, name, email, role, status) or one JSON document `{"users": [...]}`.
    static func output(_ views: [UserView], json: Bool) throws {
        if json {
            try printJSON(["users": views])
            return
        }
        let rows = [["LOGIN", "NAME", "EMAIL", "ROLE", "STATUS"]] + views.map {
            [$0.login, $0.fullName ?? "-", $0.email ?? "-", $0.role, $0.status]
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

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}
