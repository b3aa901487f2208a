/// One account's login attempts, kept apart from the directory (`users.tally/LOGIN`) so that a
/// login writes one small file of fixed size in place, whatever the number of users: failed
/// attempts, attempts in flight (counted before their yescrypt hash, settled after it), the
/// failure lock, and an outstanding recovery code.
public struct Tally: Equatable, Sendable {
    /// One attempt: a counted failure (`nonce` 0) or an attempt in flight (its nonce).
    public struct Attempt: Equatable, Sendable {
        public var time: Int64
        public var nonce: UInt64

        public init(time: Int64, nonce: UInt64 = 0) {
            self.time = time
            self.nonce = nonce
        }

        public var isPending: Bool { nonce != 0 }
    }

    /// Attempts a tally holds one by one, failures and attempts in flight together; older
    /// failures beyond it are kept as a count (`overflow`).
    public static let capacity = 64

    /// Oldest first.
    public var attempts: [Attempt] = []
    /// When the failures locked the account, if they did.
    public var lockedTime: Int64?
    /// An outstanding self-service recovery code.
    public var recovery: RecoveryCode?
    /// Failures that no longer fit one by one, and the time of the newest of them.
    public var overflow: Int = 0
    public var overflowNewest: Int64 = 0
    /// The account's reset generation this tally has caught up with (see
    /// `UserRecord.Key.failuresResetCount`): failures recorded before an administrator's unlock
    /// or new password belong to an older one and no longer count.
    public var generation: UInt64 = 0

    public init(attempts: [Attempt] = [], lockedTime: Int64? = nil, recovery: RecoveryCode? = nil, overflow: Int = 0, overflowNewest: Int64 = 0, generation: UInt64 = 0) {
        self.attempts = attempts
        self.lockedTime = lockedTime
        self.recovery = recovery
        self.overflow = overflow
        self.overflowNewest = overflowNewest
        self.generation = generation
    }

    /// A tally with `failures` counted failures (tests and displays).
    public init(failures: [Int64], lockedTime: Int64? = nil, recovery: RecoveryCode? = nil) {
        self.init(attempts: failures.map { Attempt(time: $0) }, lockedTime: lockedTime, recovery: recovery)
    }

    public var isEmpty: Bool { attempts.isEmpty && lockedTime == nil && recovery == nil && overflow == 0 }

    /// The same tally with its failures and failure lock forgotten: the attempts in flight, the
    /// recovery code and the generation stay.
    public var cleared: Tally { Tally(attempts: attempts.filter(\.isPending), recovery: recovery, generation: generation) }

    /// Times of the counted failures, oldest first.
    public var failures: [Int64] { attempts.filter { !$0.isPending }.map(\.time) }

    public var pendingCount: Int { attempts.reduce(0) { $0 + ($1.isPending ? 1 : 0) } }
}
