#if canImport(Glibc)
import Glibc
#endif
import CPwdirPAM
import PwdirCore

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

    func keep(_ key: String, _ bytes: [UInt8]?) {
        if let bytes {
            _ = bytes.withUnsafeBytes { cpwdir_pam_set_bytes_data(pamh, key, $0.baseAddress, $0.count) }
        } else {
            _ = cpwdir_pam_set_bytes_data(pamh, key, nil, 0)
        }
    }

    func kept(_ key: String) -> [UInt8]? {
        var length = 0
        guard let p = cpwdir_pam_get_bytes_data(pamh, key, &length) else { return nil }
        return Array(UnsafeRawBufferPointer(start: p, count: length))
    }

    var callerIsRoot: Bool { getuid() == 0 }

    var service: String {
        cpwdir_pam_get_string_item(pamh, PAM_SERVICE).map { String(cString: $0) } ?? "unknown"
    }

    func log(_ priority: LogPriority, _ message: String) {
        cpwdir_pam_syslog(pamh, priority.value, message)
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
