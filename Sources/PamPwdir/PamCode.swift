import CPwdirPAM
import PwdirCore

/// The one place core results become PAM codes.
func pamCode(_ result: ModuleResult) -> Int32 {
    switch result {
    case .success: return PAM_SUCCESS
    case .authError: return PAM_AUTH_ERR
    case .userUnknown: return PAM_USER_UNKNOWN
    case .permissionDenied: return PAM_PERM_DENIED
    case .authInfoUnavailable: return PAM_AUTHINFO_UNAVAIL
    case .newAuthTokenRequired: return PAM_NEW_AUTHTOK_REQD
    case .authTokError: return PAM_AUTHTOK_ERR
    case .conversationError: return PAM_CONV_ERR
    case .serviceError: return PAM_SERVICE_ERR
    case .maxTries: return PAM_MAXTRIES
    case .accountExpired: return PAM_ACCT_EXPIRED
    case .ignore: return PAM_IGNORE
    }
}
