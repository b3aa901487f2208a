#if canImport(Glibc)
import Glibc
#endif

/// The password of the identity pwdird and the command bind as (`ldap_secret_file`): one line,
/// in a regular file root owns that nobody else may read or write (as nslcd's bindpw file).
public enum LDAPServiceSecret {
    public static func read(_ path: String) throws(PwdirError) -> SecretBytes {
        guard let (fd, st) = try FileSafety.openChecked(path) else {
            throw .settings(path: path, line: 0, reason: "the LDAP service password file is missing; write the password of ldap_bind_dn there (root's, mode 600)")
        }
        defer { Sys.close(fd) }
        guard st.st_uid == 0 || st.st_uid == Sys.effectiveUID, st.st_mode & 0o077 == 0 else {
            throw .unsafeFile(path: path, reason: "others may read it; run chmod 600 on it")
        }
        var bytes: [UInt8]
        do { bytes = try Sys.readAll(fd, path, sizeHint: Int(st.st_size)) } catch { throw .system(error) }
        defer { for i in bytes.indices { bytes[i] = 0 } }
        var end = bytes.firstIndex(of: 0x0A) ?? bytes.count
        if end > 0 && bytes[end - 1] == 0x0D { end -= 1 }
        guard end > 0, !bytes[..<end].contains(0) else {
            throw .settings(path: path, line: 1, reason: "the LDAP service password is empty or holds a NUL byte")
        }
        return SecretBytes(Array(bytes[..<end]))
    }
}
