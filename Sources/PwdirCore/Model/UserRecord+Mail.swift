/// Where mail for a user goes: the recovery address if set, else the login email unless it is
/// marked as no real mailbox.
extension UserRecord {
    /// TRUE: `mail` is fictitious; nothing is ever sent there.
    public var hasNoMailbox: Bool {
        get { self[Key.noMailbox] == "TRUE" }
        set { self[Key.noMailbox] = newValue ? "TRUE" : nil }
    }

    public var language: MailLanguage? {
        get { self[Key.language].flatMap(MailLanguage.init(rawValue:)) }
        set { self[Key.language] = newValue?.rawValue }
    }

    /// The address mail for this user goes to, or nil when there is none.
    public var mailRecipient: String? {
        if let r = recoveryMail, !r.isEmpty { return r }
        if let m = mail, !m.isEmpty, !hasNoMailbox { return m }
        return nil
    }

    /// Throws with a clear reason when nothing can be mailed to this user.
    public func requireMailRecipient() throws(PwdirError) -> String {
        if let r = mailRecipient { return r }
        if mail != nil && hasNoMailbox {
            throw .invalidValue(field: "recipient", reason: "\(login)'s email is marked as no mailbox and there is no recovery email; set one with 'pwdir user modify \(login) --recovery-email ADDRESS'")
        }
        throw .invalidValue(field: "recipient", reason: "\(login) has no email and no recovery email; set one with 'pwdir user modify \(login) --recovery-email ADDRESS'")
    }
}
