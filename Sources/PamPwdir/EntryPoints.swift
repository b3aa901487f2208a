// pam_pwdir: the PAM entry points. Each decodes its arguments, calls one function of
// ModuleLogic (the core) and maps the result to a PAM code in `pamCode`. Nothing here throws
// across the C boundary, prints, or touches signals, umask, cwd or the host's descriptors.
// CPwdirRuntimeEnv is linked in so the Swift runtime carried inside the module never reads the
// host's SWIFT_* environment variables.
#if canImport(Glibc)
import Glibc
#endif
import CPwdirPAM
import CPwdirRuntimeEnv
import PwdirCore

@_cdecl("pam_sm_authenticate")
public func pam_sm_authenticate(_ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guard let call = HookCall(pamh, flags, argc, argv, hook: "authenticate") else { return PAM_SERVICE_ERR }
    if !call.options.nodelay { _ = pam_fail_delay(call.pamh, 2_000_000) }
    let (user, userCode) = call.user()
    guard let user else { return call.finish(code: userCode) }
    return call.finish(call.logic.authenticate(user: user))
}

@_cdecl("pam_sm_setcred")
public func pam_sm_setcred(_ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    // pwdir grants no credentials (groups, tickets); succeed as pam_unix does.
    PAM_SUCCESS
}

@_cdecl("pam_sm_acct_mgmt")
public func pam_sm_acct_mgmt(_ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guard let call = HookCall(pamh, flags, argc, argv, hook: "acct_mgmt") else { return PAM_SERVICE_ERR }
    let (user, userCode) = call.user()
    guard let user else { return call.finish(code: userCode) }
    return call.finish(call.logic.accountManagement(user: user))
}

@_cdecl("pam_sm_chauthtok")
public func pam_sm_chauthtok(_ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guard let call = HookCall(pamh, flags, argc, argv, hook: "chauthtok") else { return PAM_SERVICE_ERR }
    let (user, userCode) = call.user()
    guard let user else { return call.finish(code: userCode) }
    let changeExpired = flags & Int32(PAM_CHANGE_EXPIRED_AUTHTOK) != 0
    if flags & Int32(PAM_PRELIM_CHECK) != 0 {
        return call.finish(call.logic.prepareChange(user: user, changeExpired: changeExpired))
    }
    if flags & Int32(PAM_UPDATE_AUTHTOK) != 0 {
        return call.finish(call.logic.updatePassword(user: user, changeExpired: changeExpired))
    }
    return call.finish(code: PAM_SERVICE_ERR)
}

@_cdecl("pam_sm_open_session")
public func pam_sm_open_session(_ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guard let call = HookCall(pamh, flags, argc, argv, hook: "open_session") else { return PAM_SERVICE_ERR }
    if call.options.debug, let user = call.user().name { call.host.log(.debug, "session opened for \(user)") }
    return PAM_SUCCESS
}

@_cdecl("pam_sm_close_session")
public func pam_sm_close_session(_ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guard let call = HookCall(pamh, flags, argc, argv, hook: "close_session") else { return PAM_SERVICE_ERR }
    if call.options.debug, let user = call.user().name { call.host.log(.debug, "session closed for \(user)") }
    return PAM_SUCCESS
}
