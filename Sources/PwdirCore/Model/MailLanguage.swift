/// Languages pwdir writes mail in.
public enum MailLanguage: String, CaseIterable, Sendable {
    case en, fr
}
