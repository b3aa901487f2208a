#if canImport(Glibc)
import Glibc
#endif
import CPwdirSys

/// Unix stream sockets for pwdird and its clients: one request per connection, the client
/// half-closes after it; every send is MSG_NOSIGNAL (a closed peer must never raise SIGPIPE in
/// sshd); every read has a deadline.
public enum UnixSocket {
    static func address(_ path: String) throws(SystemError) -> sockaddr_un {
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: a.sun_path)
        guard bytes.count < capacity else { throw SystemError("socket", path, ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &a.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return a
    }

    /// A listening socket at `path` (a stale socket there is replaced; anything else is not),
    /// which every local user may connect to (`mode`); pwdird checks each peer.
    public static func listen(_ path: String, mode: mode_t = 0o666) throws(SystemError) -> Int32 {
        var a = try address(path)
        if let st = try Sys.lstatIfExists(path) {
            guard st.st_mode & S_IFMT == S_IFSOCK else { throw SystemError("bind", path, EEXIST) }
            _ = unlink(path)
        }
        let fd = try Sys.retry("socket", path) { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            try Sys.retry("bind", path) { withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } } }
            try Sys.retry("chmod", path) { chmod(path, mode) }
            try Sys.retry("listen", path) { Glibc.listen(fd, 64) }
        } catch {
            Sys.close(fd)
            throw error
        }
        return fd
    }

    /// The next connection (retried on EINTR and on a peer that went away meanwhile).
    public static func accept(_ fd: Int32) throws(SystemError) -> Int32 {
        while true {
            let c = Glibc.accept(fd, nil, nil)
            if c >= 0 {
                _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                return c
            }
            if errno == EINTR || errno == ECONNABORTED { continue }
            throw SystemError("accept", "")
        }
    }

    public static func connect(_ path: String) throws(SystemError) -> Int32 {
        var a = try address(path)
        let fd = try Sys.retry("socket", path) { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        if rc != 0 {
            let e = SystemError("connect", path)
            Sys.close(fd)
            throw e
        }
        return fd
    }

    /// The uid at the other end of a connected socket.
    public static func peerUID(_ fd: Int32) -> uid_t? {
        var pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0
        return cpwdir_peer_credentials(fd, &pid, &uid, &gid) == 0 ? uid : nil
    }

    public static func send(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("send", path)
            }
            done += n
        }
    }

    public static func shutdownWriting(_ fd: Int32) { _ = shutdown(fd, Int32(SHUT_WR)) }

    /// What the peer sends until it half-closes: at most `limit` bytes (one more tells "too
    /// long"), within `timeoutMilliseconds` in all.
    public static func receive(_ fd: Int32, path: String, limit: Int, timeoutMilliseconds: Int) throws(SystemError) -> [UInt8] {
        try Sys.readLimited(fd, path, limit: limit, timeoutMilliseconds: timeoutMilliseconds)
    }

    public static func close(_ fd: Int32) { Sys.close(fd) }
}
