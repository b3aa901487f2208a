#if canImport(Glibc)
import Glibc
#endif

/// pwdird's socket and its threads: a thread per connection (at most `maxConnections` at once),
/// each with a store of its own from a small pool (an LDAP connection serves one request at a
/// time). The request is read within `readTimeoutMilliseconds` after the connection.
public final class PwdirdServer: @unchecked Sendable {
    public static let maxConnections = 32
    /// Connections of users other than root: at most this many in all (the rest is root's, so
    /// that logins go on whatever users do), and this many per user.
    static let maxOthers = 12
    static let maxPerUser = 2
    static let readTimeoutMilliseconds = 5_000
    static let othersReadTimeoutMilliseconds = 1_000
    public static let ident = "pwdird"

    let socketPath: String
    let settings: Settings
    let makeStore: () throws(PwdirError) -> AccountStore
    private var mutex = pthread_mutex_t()
    private var idle: [AccountStore] = []
    private var running = 0
    private var others: [uid_t: Int] = [:]

    public init(socket: String, settings: Settings, makeStore: @escaping () throws(PwdirError) -> AccountStore) {
        socketPath = socket
        self.settings = settings
        self.makeStore = makeStore
        pthread_mutex_init(&mutex, nil)
    }

    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    /// Makes the socket's folder (root's, 0755) and the socket (0666: every user may ask about
    /// their own account), then serves until the process ends.
    public func run() throws(PwdirError) -> Never {
        let folder = FilePathText.folder(of: socketPath)
        try FileSafety.ensureFolder(folder, mode: 0o755, others: 0o022, advice: "pwdird's socket folder must be writable by root alone; run chmod 755 on it")
        let listener: Int32
        do { listener = try UnixSocket.listen(socketPath) } catch { throw .system(error) }
        SystemLog.write(ident: Self.ident, .notice, "serving \(socketPath)")
        while true {
            guard let fd = try? UnixSocket.accept(listener) else { continue }
            guard let peer = UnixSocket.peerUID(fd) else {
                UnixSocket.close(fd)
                continue
            }
            let admitted = locked { () -> Bool in
                guard running < Self.maxConnections else { return false }
                if peer != 0 {
                    guard others.values.reduce(0, +) < Self.maxOthers, others[peer, default: 0] < Self.maxPerUser else { return false }
                    others[peer, default: 0] += 1
                }
                running += 1
                return true
            }
            guard admitted else {
                try? UnixSocket.send(fd, PwdirdMessage.failure(.server("pwdird is busy; try again")).encoded(), path: socketPath)
                UnixSocket.close(fd)
                continue
            }
            let job = Job(server: self, fd: fd, peer: peer)
            let context = Unmanaged.passRetained(job).toOpaque()
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
            var thread = pthread_t()
            let started = pthread_create(&thread, &attributes, { context in
                Unmanaged<Job>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context) == 0
            pthread_attr_destroy(&attributes)
            if !started {
                Unmanaged<Job>.fromOpaque(context).release()
                job.run()
            }
        }
    }

    final class Job: @unchecked Sendable {
        let server: PwdirdServer
        let fd: Int32
        let peer: uid_t
        init(server: PwdirdServer, fd: Int32, peer: uid_t) { (self.server, self.fd, self.peer) = (server, fd, peer) }
        func run() {
            server.serve(fd, peer: peer)
            UnixSocket.close(fd)
            server.locked {
                server.running -= 1
                if peer != 0 {
                    server.others[peer, default: 1] -= 1
                    if server.others[peer] == 0 { server.others[peer] = nil }
                }
            }
        }
    }

    func serve(_ fd: Int32, peer: uid_t) {
        let log: (LogPriority, String) -> Void = { SystemLog.write(ident: Self.ident, $0, $1) }
        var request: [UInt8]
        do {
            request = try UnixSocket.receive(fd, path: socketPath, limit: 16 * 1024,
                                             timeoutMilliseconds: peer == 0 ? Self.readTimeoutMilliseconds : Self.othersReadTimeoutMilliseconds)
        } catch {
            log(.warning, "a request from uid \(peer) was not read: \(error.description)")
            return
        }
        defer { for i in request.indices { request[i] = 0 } }
        let store: AccountStore
        if let s = locked({ idle.popLast() }) {
            store = s
        } else {
            do { store = try makeStore() } catch {
                log(.err, error.message)
                try? UnixSocket.send(fd, PwdirdMessage.failure(error).encoded(), path: socketPath)
                return
            }
        }
        let answer = PwdirdService.answer(request, peer: peer, store: store, settings: settings, now: systemNow(), log: log)
        locked { idle.append(store) }
        try? UnixSocket.send(fd, answer, path: socketPath)
    }
}
