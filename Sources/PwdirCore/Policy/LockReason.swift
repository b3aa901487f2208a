/// Why an account cannot be used.
public enum LockReason: String, Sendable, Codable {
    /// `pwdir lock` (or the equivalent attribute).
    case administrator
    /// `deny` failed logins.
    case failures
    /// The failure tally cannot be read safely (`pwdir unlock` makes a new one).
    case damagedTally = "damaged-tally"
    /// A temporary password nobody used within temp_ttl.
    case temporaryPasswordExpired = "temporary-password-expired"
    /// No password was ever set.
    case noPassword = "no-password"

    /// Locked in the sense an administrator means: someone must act (or wait) before a login.
    public var isLock: Bool { self != .noPassword }
}
