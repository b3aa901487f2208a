import PwdirCore

/// Runs `body` and returns the PwdirError it threw, or nil if it returned.
public func caught<T>(_ body: () throws(PwdirError) -> T) -> PwdirError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

