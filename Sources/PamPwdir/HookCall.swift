#if canImport(Glibc)
import Glibc
#endif
import CPwdirPAM
import PwdirCore

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

    var logic: ModuleLogic { ModuleLogic(options: options, host: host, clock: { systemNow() }) }

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
