/// What the module tells users, in one place: one line each, saying what happened and what to do.
extension ModuleLogic {
    public static let lockedMessage = "This account is locked. Contact your administrator to have it unlocked."
    public static let mustChangeMessage = "You must change your password now: it was set by an administrator."
    public static let changeRequiredMessage = "Your administrator requires you to change your password now."
    public static let noPasswordMessage = "No password has been set for this account yet. Contact your administrator."
    public static let temporaryExpiredMessage = "Your temporary password has expired. Ask your administrator for a new one."
    public static let expiredMessage = "Your password has expired: you must choose a new one now."
    public static let tooManyAttemptsMessage = "Too many logins to this account are under way; try again in a moment."
    public static let recoveryMessage = "If this account has a recovery address, a code has been sent to it. Type the code, or press Enter to give up."
    public static let badCodeMessage = "The recovery code is wrong, used up or expired; your password was not changed."
    public static let recoveryAbandonedMessage = "No code typed: your password was not changed."
    public static let mismatchMessage = "Sorry, the passwords do not match; your password was not changed."
    public static let secondFactorRequiredMessage = "This account needs a second factor (an authenticator app) and has none yet. Ask your administrator to enrol you."
    public static let verificationPrompt = "Verification code: "
    public static let recoveryNeedsSecondFactorMessage = "The verification code is wrong or was already used; your password was not changed. Lost your authenticator and its recovery codes? Ask your administrator."
    public static let wrongCurrentMessage = "The current password is wrong; your password was not changed."

    /// What a user is told about a lock; with `until`, when it lifts.
    public static func lockedMessage(until: Int64?) -> String {
        guard let until else { return lockedMessage }
        return "This account is locked after too many failed logins until \(GeneralizedTime.readable(until)). Contact your administrator to unlock it sooner."
    }

    public static func recoveryCodesLeftMessage(_ left: Int) -> String {
        "You logged in with a recovery code: \(left) left" + (left < 3 ? ". Ask your administrator for new ones (pwdir totp recovery-codes)." : ".")
    }

    public static func expiresSoonMessage(days: Int64) -> String {
        "Your password will expire in \(days) day\(days == 1 ? "" : "s")."
    }
}
