/// Fills `count` bytes from the kernel CSPRNG (getrandom).
public func randomBytes(_ count: Int) throws(PwdirError) -> [UInt8] {
    do { return try Sys.random(count) } catch { throw .system(error) }
}
