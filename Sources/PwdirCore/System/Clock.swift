/// Seconds since the epoch, read from the system clock. Code that decides anything by time takes
/// the time as a parameter; only entry points (the PAM hooks, the commands) call this.
public func systemNow() -> Int64 {
    Sys.wallClock()
}

/// Monotonic nanoseconds, for deadlines and measurements.
public func monotonicNanoseconds() -> UInt64 {
    Sys.monotonicNanoseconds()
}
