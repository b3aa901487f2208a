import ArgumentParser
import Foundation
import CPwdirSys
import PwdirCore

/// What the command can be asked to do, as named in refusals and in the audit trail.
enum Action: String {
    case initialize = "init", add = "user add", modify = "user modify", remove = "user remove"
    case show = "user show", list = "user list", find = "user find"
    case passwd, lock, unlock, sendCredentials = "send-credentials", importFile = "import"
    case recover, log

    /// What a manager may do, to the users they manage (not admins, not themselves).
    static let managerActions: [Action] = [.show, .list, .find, .passwd, .sendCredentials, .lock, .unlock, .recover]
}

/// Who runs pwdir (PRODUCT.md, Roles): root acting directly is the superuser; under sudo the
/// actor is SUDO_USER looked up in the directory — an admin may do everything, a manager acts
/// only on the users whose manager they are, a user may change nothing.
struct Authority {
    enum Who {
        case superuser
        case member(UserRecord)
    }

    let who: Who
    let name: String
    let audit: Auditor

    /// Resolves the actor against `records` (the directory as read for this command).
    static func resolve(records: [UserRecord]?, audit: Auditor) throws -> Authority {
        let env = ProcessInfo.processInfo.environment
        guard geteuid() == 0 else {
            throw CommandFailure(message: "pwdir must run as root, or through sudo for directory admins and managers (see pam/sudoers.pwdir)", status: 77)
        }
        guard let sudoUser = env["SUDO_USER"], !sudoUser.isEmpty, sudoUser != "root" else {
            return Authority(who: .superuser, name: "root", audit: audit)
        }
        guard let record = records?.first(where: { $0.login == sudoUser }) else {
            audit.record(actor: sudoUser, action: "authorize", target: nil, result: "refused", detail: "not in the directory")
            throw CommandFailure(message: "\(PwdirError.printable(sudoUser)) is not in the directory: only root and directory admins or managers may use pwdir", status: 77)
        }
        return Authority(who: .member(record), name: sudoUser, audit: audit)
    }

    var role: Role? {
        if case let .member(r) = who { return r.role }
        return nil
    }

    /// True when the actor may do `action` to `target` (nil: the action as a whole).
    func allows(_ action: Action, on target: UserRecord?) -> Bool {
        switch who {
        case .superuser: return true
        case let .member(me):
            switch me.role {
            case .admin: return true
            case .user: return false
            case .manager:
                guard Action.managerActions.contains(action) else { return false }
                guard let target else { return true }
                return target.manager == me.login && target.role != .admin && target.login != me.login
            }
        }
    }

    /// Throws (after recording the refusal) unless the actor may do `action` to `target`.
    func require(_ action: Action, on target: UserRecord? = nil, targetName: String? = nil) throws {
        if allows(action, on: target) { return }
        let who = targetName ?? target?.login
        audit.record(actor: name, action: action.rawValue, target: who, result: "refused", detail: "role \(role?.rawValue ?? "none")")
        throw CommandFailure(message: refusal(action, target: who), status: 77)
    }

    func refusal(_ action: Action, target: String?) -> String {
        let what = target.map { "'\(action.rawValue)' on \($0)" } ?? "'\(action.rawValue)'"
        switch role {
        case .user?:
            return "\(name) may not \(what): the role user may change nothing; ask an administrator"
        case .manager?:
            let may = Action.managerActions.map(\.rawValue).joined(separator: ", ")
            return "\(name) may not \(what): a manager may only \(may), and only for the users they manage (not admins, not themselves)"
        default:
            return "\(name) may not \(what)"
        }
    }

    /// The users among `records` the actor may see (everyone, or a manager's team).
    func visible(_ records: [UserRecord], for action: Action) -> [UserRecord] {
        records.filter { allows(action, on: $0) }
    }
}

/// Records what the command does: syslog (authpriv, ident "pwdir") and the audit file.
struct Auditor {
    let log: AuditLog
    let directory: DirectoryFile

    func record(actor: String, action: String, target: String?, result: String, detail: String? = nil) {
        let event = AuditEvent(time: systemNow(), actor: actor, action: action, target: target, result: result, detail: detail)
        cpwdir_syslog(LOG_AUTHPRIV | (result == "ok" ? LOG_NOTICE : LOG_WARNING), "pwdir", event.syslogLine)
        // Nothing happened to a directory that does not exist: syslog only, and no file is
        // left behind.
        guard directory.exists else { return }
        do { try log.append(event) } catch {
            FileHandle.standardError.write(Data("pwdir: warning: cannot write the audit trail: \(error.message)\n".utf8))
        }
    }
}

extension Paths {
    var auditor: Auditor {
        let settings = (try? Settings.load(path: configPath).0) ?? Settings()
        return Auditor(log: AuditLog(settings: settings, directory: directory), directory: directory)
    }

    /// The actor, resolved against the current directory.
    func authority(_ records: [UserRecord]? = nil) throws -> Authority {
        let all = records ?? (try? directory.load())
        return try Authority.resolve(records: all, audit: auditor)
    }
}

extension Authority {
    /// Runs `body` for an authorized change and records it: ok with `detail`, or failed with
    /// the error's message.
    @discardableResult
    func perform<T>(_ action: Action, target: String?, detail: String? = nil, _ body: () throws -> T) throws -> T {
        do {
            let result = try body()
            audit.record(actor: name, action: action.rawValue, target: target, result: "ok", detail: detail)
            return result
        } catch let e as PwdirError {
            audit.record(actor: name, action: action.rawValue, target: target, result: "failed", detail: e.message)
            throw e
        } catch let e as CommandFailure {
            audit.record(actor: name, action: action.rawValue, target: target, result: "failed", detail: e.message)
            throw e
        }
    }
}
