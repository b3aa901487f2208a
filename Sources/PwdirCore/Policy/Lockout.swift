/// The lockout rules, as faillock.conf states them: `deny` failures in a row, counted over
/// `fail_interval` seconds, lock the account; the lock lifts after `unlock_time` seconds (never
/// when 0) or when an administrator unlocks it. Attempts in flight count against `deny` before
/// their hash runs, so parallel guesses can never exceed it. Pure functions of the tally, the
/// settings and the time; no arithmetic here can trap, whatever a tally holds.
public struct Lockout: Sendable {
    public let deny: Int
    public let unlockTime: Int64
    public let failInterval: Int64

    /// An attempt in flight for longer than this (its process stopped or killed) counts as a
    /// failure: whoever made it may have learnt the answer.
    public static let pendingSeconds: Int64 = 15

    public init(settings: Settings) {
        deny = settings.deny
        unlockTime = settings.unlockTime
        failInterval = settings.failInterval
    }

    /// The tally as it stands at `now`: times ahead of the clock are brought back to `now` (a
    /// clock that jumped back never makes a lock or a window last longer than its limit from the
    /// moment it is noticed); attempts in flight for too long become failures; when the account
    /// was reset (an administrator's unlock or new password: `generation` above the tally's),
    /// its failures and failure lock are forgotten and the tally catches up. No clock is
    /// involved in the reset, so a failure made the same second as an unlock still counts.
    public func normalized(_ tally: Tally, now: Int64, generation: UInt64) -> Tally {
        var t = tally
        if generation > t.generation {
            t = t.cleared
            t.generation = generation
        }
        var expired = false
        for i in t.attempts.indices {
            if t.attempts[i].time > now { t.attempts[i].time = now }
            if t.attempts[i].isPending, now &- t.attempts[i].time >= Self.pendingSeconds {
                t.attempts[i].nonce = 0
                expired = true
            }
        }
        // Attempts that expired are failures like any other: they lock at deny.
        if expired, t.lockedTime == nil, deny > 0, countingFailures(t, now: now) >= deny { t.lockedTime = now }
        if t.overflowNewest > now { t.overflowNewest = now }
        if let locked = t.lockedTime, locked > now { t.lockedTime = now }
        if t.lockedTime != nil && !isLocked(t, now: now) {
            // A timed lock that lifted starts a fresh count.
            t = t.cleared
        }
        return t
    }

    /// When a failure lock in `tally` ends (nil: only an administrator ends it).
    public func lockedUntil(_ tally: Tally) -> Int64? {
        guard let locked = tally.lockedTime, unlockTime > 0 else { return nil }
        let (until, overflow) = locked.addingReportingOverflow(unlockTime)
        return overflow ? Int64.max : until
    }

    /// True while `tally` holds a lock that has not lifted by `now`.
    public func isLocked(_ tally: Tally, now: Int64) -> Bool {
        guard tally.lockedTime != nil else { return false }
        if let until = lockedUntil(tally) { return now < until }
        return true
    }

    /// Failures that still count at `now`. Failures beyond the 64 kept one by one count while
    /// the newest of them does (never fewer than really happened).
    public func countingFailures(_ tally: Tally, now: Int64) -> Int {
        let counted = tally.attempts.reduce(0) { n, a in
            n + (!a.isPending && inWindow(a.time, now: now) ? 1 : 0)
        }
        return counted &+ (tally.overflow > 0 && inWindow(tally.overflowNewest, now: now) ? tally.overflow : 0)
    }

    private func inWindow(_ time: Int64, now: Int64) -> Bool {
        failInterval == 0 || time > now &- failInterval
    }

    /// May one more attempt start? Not while locked, not when the failures that count and the
    /// attempts in flight already reach `deny` (nor when attempts in flight fill the tally).
    public func admits(_ tally: Tally, now: Int64) -> Bool {
        if isLocked(tally, now: now) { return false }
        let pending = tally.pendingCount
        if pending >= Tally.capacity { return false }
        if deny > 0 && countingFailures(tally, now: now) + pending >= deny { return false }
        return true
    }

    /// The tally with an attempt in flight added.
    public func starting(_ tally: Tally, nonce: UInt64, now: Int64) -> Tally {
        var t = tally
        makeRoom(&t)
        t.attempts.append(.init(time: now, nonce: nonce))
        return t
    }

    /// When the tally is full, its oldest counted failure moves to the overflow count.
    private func makeRoom(_ t: inout Tally) {
        guard t.attempts.count >= Tally.capacity, let oldest = t.attempts.firstIndex(where: { !$0.isPending }) else { return }
        let time = t.attempts.remove(at: oldest).time
        t.overflow = t.overflow < Int(UInt32.max) ? t.overflow + 1 : t.overflow
        t.overflowNewest = max(t.overflowNewest, time)
    }

    /// The tally after the attempt `nonce` failed at `now`: a counted failure, and the lock if
    /// it makes `deny`. Nil when the attempt is no longer there (it ran out of time).
    public func failing(_ tally: Tally, nonce: UInt64, now: Int64) -> Tally? {
        guard let i = tally.attempts.firstIndex(where: { $0.nonce == nonce && nonce != 0 }) else { return nil }
        var t = tally
        t.attempts.remove(at: i)
        if failInterval > 0 {
            t.attempts.removeAll { !$0.isPending && !inWindow($0.time, now: now) }
            if t.overflow > 0 && !inWindow(t.overflowNewest, now: now) { (t.overflow, t.overflowNewest) = (0, 0) }
        }
        makeRoom(&t)
        t.attempts.append(.init(time: now))
        if deny > 0 && t.lockedTime == nil && countingFailures(t, now: now) >= deny { t.lockedTime = now }
        return t
    }

    /// The tally after the attempt `nonce` succeeded: failures, the lock and any recovery code
    /// forgotten (only someone who knows the password gets here); other attempts in flight stay.
    /// Nil when the attempt is no longer there.
    public func succeeding(_ tally: Tally, nonce: UInt64) -> Tally? {
        guard tally.attempts.contains(where: { $0.nonce == nonce && nonce != 0 }) else { return nil }
        return Tally(attempts: tally.attempts.filter { $0.isPending && $0.nonce != nonce }, generation: tally.generation)
    }

    /// The tally without the attempt `nonce`, counted neither way (an attempt on a locked
    /// account, or a recovery code that checked out).
    public func withdrawing(_ tally: Tally, nonce: UInt64) -> Tally {
        var t = tally
        t.attempts.removeAll { $0.nonce == nonce && nonce != 0 }
        return t
    }
}
