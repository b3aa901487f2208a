import CPwdirQuality

/// libpwquality, configured from pwdir.conf only: the pwquality.conf keys have the same
/// meanings, and the user sees pwquality's own reason.
public enum PasswordQuality {
    /// nil if libpwquality accepts `option` ("key=value"), else its reason.
    public static func invalidOption(_ option: String) -> String? {
        var reason = [CChar](repeating: 0, count: 256)
        let rc = cpwdir_quality_validate_option(option, &reason, reason.count)
        return rc == 0 ? nil : String(cBuffer: reason)
    }

    /// Throws `.weakPassword` with pwquality's reason when `password` fails the checks, and
    /// `.dictionaryMissing` when dictcheck is on and libcrack's dictionary cannot be read.
    /// `old` is the current password when known (for difok), `user` the login.
    public static func check(_ password: SecretBytes, old: SecretBytes?, user: String?, settings: Settings) throws(PwdirError) {
        let options = ["minlen=\(settings.minlen)"] + settings.qualityOptions
        var reason = [CChar](repeating: 0, count: 512)
        let cOptions = options.map { strdupOrDie($0) }
        defer { cOptions.forEach { free($0) } }
        let score: Int32 = cOptions.map { UnsafePointer<CChar>?($0) }.withUnsafeBufferPointer { opts in
            password.withCString { pw in
                withOptionalCString(old) { oldPtr in
                    withOptionalString(user) { userPtr in
                        cpwdir_quality_check(opts.baseAddress, Int32(opts.count), pw, oldPtr, userPtr, &reason, reason.count)
                    }
                }
            }
        }
        if score == CPWDIR_QUALITY_NO_DICTIONARY { throw .dictionaryMissing(String(cBuffer: reason)) }
        if score < 0 {
            var text = String(cBuffer: reason)
            if text.hasSuffix(".") { text.removeLast() }
            throw .weakPassword(text.isEmpty ? "it fails the password-quality checks" : text)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

private func strdupOrDie(_ s: String) -> UnsafeMutablePointer<CChar> {
    s.withCString { strdup($0)! }
}

private func withOptionalCString<R>(_ secret: SecretBytes?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    if let secret { return secret.withCString { body($0) } }
    return body(nil)
}

private func withOptionalString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    if let s { return s.withCString { body($0) } }
    return body(nil)
}
