import PwdirCore

/// What the command can be asked to do, as named in refusals and in the audit trail.
enum Action: String {
    case initialize = "init", add = "user add", modify = "user modify", remove = "user remove"
    case show = "user show", list = "user list", find = "user find"
    case passwd, lock, unlock, sendCredentials = "send-credentials", importFile = "import"
    case recover, log, migrate, userdbSync = "userdb sync"
    case export
    case totpEnroll = "totp enroll", totpShow = "totp show", totpRemove = "totp remove", totpRecoveryCodes = "totp recovery-codes"

    /// What a manager may do, to the users they manage (not admins, not themselves).
    static let managerActions: [Action] = [
        .show, .list, .find, .passwd, .sendCredentials, .lock, .unlock, .recover,
        .totpEnroll, .totpShow, .totpRemove, .totpRecoveryCodes,
    ]
}

/// The roles: an admin may do everything, a manager acts only on the users whose manager they
/// are, a user may change nothing; root acting directly is the superuser.
struct Authority {
    enum Who {
        case superuser
        case member(UserRecord)
    }

    let who: Who
    /// The actor's name in refusals and the audit trail ("root" or the sudo user's login).
    let name: String
    let auditor: Auditor

    /// Resolves the actor against the store; refuses (and records) a sudo user who is not in it.
    static func resolve(store: AccountStore, auditor: Auditor) throws(PwdirError) -> Authority {
        guard Actor.isRoot else {
            throw .notAllowed("pwdir must run as root, or through sudo for directory admins and managers (see pam/sudoers.pwdir)")
        }
        guard let sudoUser = Actor.sudoUser else { return Authority(who: .superuser, name: "root", auditor: auditor) }
        guard LoginName.isValid(sudoUser), let record = (try? store.record(sudoUser)) ?? nil else {
            auditor.record(actor: sudoUser, action: "authorize", target: nil, result: "refused", detail: "not in the directory")
            throw .notAllowed("\(PwdirError.printable(sudoUser)) is not in the directory: only root and directory admins or managers may use pwdir")
        }
        return Authority(who: .member(record), name: sudoUser, auditor: auditor)
    }

    var role: Role? {
        if case let .member(r) = who { return r.role }
        return nil
    }

    var isManager: Bool { role == .manager }

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
    func require(_ action: Action, on target: UserRecord? = nil, targetName: String? = nil) throws(PwdirError) {
        if allows(action, on: target) { return }
        let who = targetName ?? target?.login
        auditor.record(actor: name, action: action.rawValue, target: who, result: "refused", detail: "role \(role?.rawValue ?? "none")")
        throw .notAllowed(refusal(action, target: who))
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

    /// Runs `body`, an authorized change, and records it in two lines that cannot part: pending
    /// before, then ok with `detail`, or failed (or "unknown" when it may have been applied)
    /// with the error's message.
    /// `outcome` words the ok line from the result, when `detail` cannot say it beforehand.
    @discardableResult
    func perform<T>(_ action: Action, target: String?, detail: String? = nil, outcome: ((T) -> String?)? = nil, _ body: () throws(PwdirError) -> T) throws(PwdirError) -> T {
        let id = AuditLog.newID()
        try auditor.begin(actor: name, action: action.rawValue, target: target, detail: detail, id: id)
        do {
            let result = try body()
            auditor.record(actor: name, action: action.rawValue, target: target, result: "ok", detail: outcome?(result) ?? detail, id: id)
            return result
        } catch {
            if case .mayHaveBeenApplied = error {
                auditor.record(actor: name, action: action.rawValue, target: target, result: "unknown", detail: error.message, id: id)
            } else {
                auditor.record(actor: name, action: action.rawValue, target: target, result: "failed", detail: error.message, id: id)
            }
            throw error
        }
    }
}
