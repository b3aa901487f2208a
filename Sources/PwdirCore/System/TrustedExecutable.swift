#if canImport(Glibc)
import Glibc
#endif

/// A program the module runs as root (the `pwdir` helper that mails recovery codes, the
/// `pwdir-chkpwd` helper), resolved and checked once: the real path, every folder on it and the
/// file itself owned by root and writable by nobody else, the file a regular executable. It is
/// then run through the descriptor that was checked (never through its path again), so nothing
/// can be swapped in between.
public final class TrustedExecutable {
    public let path: String
    /// An open descriptor on the checked file (numbered 10 or more, close-on-exec).
    let descriptor: Int32

    /// Resolves and checks `path`; throws `.unsafeFile` naming what is wrong.
    public init(_ path: String) throws(PwdirError) {
        guard path.hasPrefix("/") else { throw .unsafeFile(path: path, reason: "it is not an absolute path") }
        let real: String
        do { real = try Sys.realPath(path) } catch { throw .system(error) }
        try FileSafety.checkFoldersOnPath(from: FilePathText.folder(of: real), naming: path)
        let fd: Int32
        do { fd = try Sys.moveAboveStandard(try Sys.open(real, O_RDONLY), real) } catch {
            throw .system(error)
        }
        do {
            let st = try Sys.fstat(fd, real)
            guard (st.st_mode & S_IFMT) == S_IFREG, st.st_mode & 0o111 != 0 else {
                throw PwdirError.unsafeFile(path: path, reason: "it is not an executable file")
            }
            if st.st_uid != 0 { throw PwdirError.unsafeFile(path: path, reason: "it is not root's") }
            if st.st_mode & 0o022 != 0 { throw PwdirError.unsafeFile(path: path, reason: "others may write it") }
        } catch {
            Sys.close(fd)
            throw PwdirError(error)
        }
        self.path = real
        descriptor = fd
    }

    deinit { Sys.close(descriptor) }
}
