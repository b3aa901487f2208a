#if canImport(Glibc)
import Glibc
#endif

/// What kind of file a path names, checked before a command reads one given by a person (a
/// FIFO or a device would block or never end).
public enum FileKind {
    /// True when `path` (following links) is a regular file.
    public static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}
