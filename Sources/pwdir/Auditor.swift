import PwdirCore

/// Records what the command does: syslog (authpriv, ident "pwdir") and the audit file.
struct Auditor {
    let log: AuditLog
    /// The flat directory whose absence means nothing happened (nil: the accounts are on an
    /// LDAP server, and the trail is written on this host whatever is here).
    let directoryPath: String?

    init(log: AuditLog, directoryPath: String?) {
        self.log = log
        self.directoryPath = directoryPath
    }

    /// The trail of a command run with `settings` on `paths`.
    init(settings: Settings, paths: Paths) {
        self.init(log: AuditLog(settings: settings, directoryPath: paths.directory), directoryPath: settings.store == .ldap ? nil : paths.directory)
    }

    func record(actor: String, action: String, target: String?, result: String, detail: String? = nil, id: String? = nil) {
        do { try append(actor: actor, action: action, target: target, result: result, detail: detail, id: id) } catch {
            Output.warn("cannot write the audit trail: \(error.message)")
        }
    }

    /// The "pending" line written before a change: a change whose record cannot be written is
    /// not made (the error says why; nothing changed).
    func begin(actor: String, action: String, target: String?, detail: String? = nil, id: String) throws(PwdirError) {
        try append(actor: actor, action: action, target: target, result: "pending", detail: detail, id: id)
    }

    private func append(actor: String, action: String, target: String?, result: String, detail: String?, id: String?) throws(PwdirError) {
        let event = AuditEvent(time: systemNow(), actor: actor, action: action, target: target, result: result, detail: detail, id: id)
        SystemLog.write(ident: "pwdir", result == "ok" || result == "pending" ? .notice : .warning, event.syslogLine)
        // Nothing happened to a directory that does not exist: syslog only, and no file is
        // left behind.
        if let directoryPath, !DirectoryFile(path: directoryPath).exists { return }
        try log.append(event)
    }
}
