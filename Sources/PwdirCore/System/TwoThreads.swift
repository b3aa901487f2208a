#if canImport(Glibc)
import Glibc
#endif

/// Work split between this thread and one more, for the few writes big enough to gain from a
/// second core (a directory's every shard encoded and written at a million users). A plain
/// POSIX thread, not Dispatch: the core is linked into the PAM module, which loads nothing
/// more into sshd. The new thread inherits this one's signal mask, so work done under
/// `Sys.unstoppable` stays so.
enum TwoThreads {
    /// `body(i)` for every `i` in `0..<count`, the even ones here and the odd ones on a second
    /// thread (shards are of even size, so the halves are too); returns the results in order
    /// once both are done. If no thread can be started, everything runs here.
    static func map<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let slots = Slots<T>(count)
        let work = Work(count: count) { i in slots.put(i, body(i)) }
        let context = Unmanaged.passRetained(work).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            let work = Unmanaged<Work>.fromOpaque(context!).takeRetainedValue()
            work.run(from: 1, step: 2)
            return nil
        }, context) == 0
        if started {
            work.run(from: 0, step: 2)
            pthread_join(thread, nil)
        } else {
            Unmanaged<Work>.fromOpaque(context).release()
            work.run(from: 0, step: 1)
        }
        return slots.values()
    }

    private final class Work: @unchecked Sendable {
        let count: Int
        let body: @Sendable (Int) -> Void
        init(count: Int, body: @escaping @Sendable (Int) -> Void) { (self.count, self.body) = (count, body) }
        func run(from first: Int, step: Int) {
            var i = first
            while i < count { body(i); i += step }
        }
    }

    /// One slot per index, each written by exactly one thread and read after the join.
    private final class Slots<T>: @unchecked Sendable {
        private var storage: UnsafeMutablePointer<T?>
        private let count: Int
        init(_ count: Int) {
            self.count = count
            storage = .allocate(capacity: max(count, 1))
            storage.initialize(repeating: nil, count: count)
        }
        deinit {
            storage.deinitialize(count: count)
            storage.deallocate()
        }
        func put(_ i: Int, _ value: T) { storage[i] = value }
        func values() -> [T] { (0..<count).map { storage[$0]! } }
    }
}
