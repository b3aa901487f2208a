/// Outcomes of the module's hooks; the adapter maps each to one PAM code.
public enum ModuleResult: String, Equatable, Sendable {
    case success
    case authError
    case userUnknown
    case permissionDenied
    /// Locked by failed logins.
    case maxTries
    case accountExpired
    case authInfoUnavailable
    case newAuthTokenRequired
    case authTokError
    case conversationError
    case serviceError
    /// Not pwdir's business (PAM_IGNORE): a user pwdir does not know, whose new password it
    /// collected for the module below.
    case ignore
}
