/// The host side of one PAM call: the conversation, the PAM items, data kept between hooks,
/// syslog. libpam is one host (the adapter in PamPwdir); tests drive the logic with a scripted
/// fake. No PAM import here.
public protocol ModuleHost: AnyObject {
    /// Asks with echo off (PAM_PROMPT_ECHO_OFF); nil when the conversation failed.
    func askSecret(_ prompt: String) -> SecretBytes?
    /// Shows a message (PAM_ERROR_MSG when `isError`, else PAM_TEXT_INFO).
    func tell(_ text: String, isError: Bool)
    /// PAM_AUTHTOK.
    var authToken: SecretBytes? { get set }
    /// PAM_OLDAUTHTOK.
    var oldAuthToken: SecretBytes? { get set }
    /// The login that authenticated successfully through this handle (pam_set_data).
    var authenticatedUser: String? { get set }
    /// Bytes kept with the handle until pam_end (pam_set_data; wiped when released).
    func keep(_ key: String, _ bytes: [UInt8]?)
    func kept(_ key: String) -> [UInt8]?
    /// True when the real uid of the calling process is 0.
    var callerIsRoot: Bool { get }
    /// PAM_SERVICE (sshd, login, …), for the audit trail.
    var service: String { get }
    func log(_ priority: LogPriority, _ message: String)
}
