import Foundation
import PwdirCore

/// Sends mail through the `sendmail` setting: its argv (split on spaces), no shell, a clean
/// environment, the whole message on stdin, bounded by `mail_timeout`; its exit status and
/// stderr are checked and the error says what the MTA said.
public struct Mailer: Sendable {
    public let settings: Settings
    public let templates: MailTemplates
    public let host: String

    public init(settings: Settings, host: String = Mailer.hostName()) {
        self.settings = settings
        templates = MailTemplates(directory: settings.templatesDir)
        self.host = host
    }

    /// Renders `template` for `record` and sends it to the user's recipient; returns where it went.
    @discardableResult
    public func send(_ template: MailTemplate, to record: UserRecord, values: [String: Any], now: Int64) throws(PwdirError) -> String {
        let recipient = try record.requireMailRecipient()
        var all = values
        all["login"] = record.login
        all["full_name"] = record.fullName ?? record.login
        all["host"] = host
        let language = record.language ?? settings.lang
        let mail = try templates.render(template, language: language, values: all)
        try deliver(MailMessage(from: settings.mailFrom, to: recipient, subject: mail.subject, body: mail.body), now: now)
        return recipient
    }

    /// Hands one message to the MTA.
    public func deliver(_ message: MailMessage, now: Int64) throws(PwdirError) {
        var bytes = try message.encoded(date: now, host: host)
        defer { for i in bytes.indices { bytes[i] = 0 } }  // it may hold a password
        let result = try Subprocess.run(settings.sendmail, input: bytes, timeoutMilliseconds: settings.mailTimeout * 1000)
        let command = settings.sendmail[0]
        if result.timedOut {
            throw .mail("\(command) did not finish within \(settings.mailTimeout) s (mail_timeout)")
        }
        if let signal = result.signal {
            throw .mail("\(command) was killed by signal \(signal)")
        }
        if let code = result.exitCode, code != 0 {
            let said = result.diagnostic
            throw .mail("\(command) exited with status \(code)\(said.isEmpty ? "" : ": \(said)")")
        }
    }

    /// gethostname(2): no DNS lookup.
    public static func hostName() -> String { Settings.hostName() }
}
