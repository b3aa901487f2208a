// pam_pwdir: the PAM entry points. Each decodes its arguments, calls one function of
// ModuleLogic (the core) and maps the result to a PAM code in `pamCode`. Nothing here throws
// across the C boundary, prints, or touches signals, umask, cwd or the host's descriptors.
#if canImport(Glibc)
import Glibc
#endif
import CPwdirPAM
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

/// One hook invocation: the handle, the parsed arguments and the host adapter.
struct HookCall {
    let pamh: OpaquePointer
    let hook: String
    let options: ModuleOptions
    let host: PamHost

    init?(_ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?, hook: String) {
        guard let pamh else { return nil }
        var arguments: [String] = []
        for i in 0..<Int(max(argc, 0)) {
            if let a = argv?[i] { arguments.append(String(cString: a)) }
        }
        self.pamh = pamh
        self.hook = hook
        options = ModuleOptions.parse(arguments)
        host = PamHost(pamh, quiet: flags & Int32(bitPattern: UInt32(PAM_SILENT)) != 0)
        for a in options.unknown { host.log(.warning, "unknown module argument '\(a)' ignored") }
    }

    var logic: ModuleLogic { ModuleLogic(options: options, host: host, now: systemNow()) }

    /// PAM_USER through pam_get_user (which may ask for it); on failure, the code to return.
    func user() -> (name: String?, code: Int32) {
        var name: UnsafePointer<CChar>?
        let rc = pam_get_user(pamh, &name, nil)
        guard rc == PAM_SUCCESS, let name, name.pointee != 0 else {
            return (nil, rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : (rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc))
        }
        return (String(cString: name), PAM_SUCCESS)
    }

    func finish(_ result: ModuleResult) -> Int32 {
        finish(code: pamCode(result))
    }

    func finish(code: Int32) -> Int32 {
        if options.debug { host.log(.debug, "\(hook) done. [\(String(cString: pam_strerror(pamh, code)))]") }
        return code
    }
}

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
    }
}

/// ModuleHost through libpam: pam_prompt for the conversation, pam_get/set_item for tokens,
/// pam_set_data for what must survive between hooks, pam_syslog for logs.
final class PamHost: ModuleHost {
    let pamh: OpaquePointer
    /// PAM_SILENT: no informational messages.
    let quiet: Bool
    static let authenticatedKey = "pam_pwdir_authenticated_user"

    init(_ pamh: OpaquePointer, quiet: Bool) {
        self.pamh = pamh
        self.quiet = quiet
    }

    func askSecret(_ prompt: String) -> SecretBytes? {
        var response: UnsafeMutablePointer<CChar>?
        let rc = cpwdir_pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &response, prompt)
        guard let response else { return nil }
        defer {
            explicit_bzero(response, strlen(response))
            free(response)
        }
        return rc == PAM_SUCCESS ? SecretBytes(cString: response) : nil
    }

    func tell(_ text: String, isError: Bool) {
        if quiet && !isError { return }
        _ = cpwdir_pam_prompt(pamh, isError ? PAM_ERROR_MSG : PAM_TEXT_INFO, nil, text)
    }

    var authToken: SecretBytes? {
        get { item(PAM_AUTHTOK) }
        set { setItem(PAM_AUTHTOK, newValue) }
    }

    var oldAuthToken: SecretBytes? {
        get { item(PAM_OLDAUTHTOK) }
        set { setItem(PAM_OLDAUTHTOK, newValue) }
    }

    var authenticatedUser: String? {
        get { cpwdir_pam_get_string_data(pamh, Self.authenticatedKey).map { String(cString: $0) } }
        set { _ = cpwdir_pam_set_string_data(pamh, Self.authenticatedKey, newValue ?? "") }
    }

    var callerIsRoot: Bool { getuid() == 0 }

    var service: String {
        cpwdir_pam_get_string_item(pamh, PAM_SERVICE).map { String(cString: $0) } ?? "unknown"
    }

    func log(_ priority: LogPriority, _ message: String) {
        let p: Int32
        switch priority {
        case .err: p = LOG_ERR
        case .warning: p = LOG_WARNING
        case .notice: p = LOG_NOTICE
        case .info: p = LOG_INFO
        case .debug: p = LOG_DEBUG
        }
        cpwdir_pam_syslog(pamh, p, message)
    }

    private func item(_ type: Int32) -> SecretBytes? {
        guard let p = cpwdir_pam_get_string_item(pamh, type) else { return nil }
        return SecretBytes(cString: p)
    }

    private func setItem(_ type: Int32, _ value: SecretBytes?) {
        // libpam copies the string and wipes its copy when it is replaced or at pam_end.
        if let value {
            value.withCString { _ = pam_set_item(pamh, type, $0) }
        } else {
            _ = pam_set_item(pamh, type, nil)
        }
    }
}
