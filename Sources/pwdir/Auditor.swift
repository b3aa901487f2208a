import PwdirCore

/// Records what the command does: syslog (authpriv, ident "pwdir") and the audit file.
struct Auditor {
    let log: AuditLog
    let directoryPath: String

    func record(actor: String, action: String, target: String?, result: String, detail: String? = nil, id: String? = nil) {
        let event = AuditEvent(time: systemNow(), actor: actor, action: action, target: target, result: result, detail: detail, id: id)
        SystemLog.write(ident: "pwdir", result == "ok" || result == "pending" ? .notice : .warning, event.syslogLine)
        // Nothing happened to a directory that does not exist: syslog only, and no file is
        // left behind.
        guard DirectoryFile(path: directoryPath).exists else { return }
        do { try log.append(event) } catch {
            Output.warn("cannot write the audit trail: \(error.message)")
        }
    }
}
