import Glibc

/// A value behind a pthread mutex, for state that several event loops share.
///
/// A pthread mutex rather than the standard library's `Mutex`: ThreadSanitizer understands it,
/// so the sanitizer runs of the multi-loop tests check the locking instead of being blind to it.
public final class Guarded<Value>: @unchecked Sendable {
    // @unchecked: `value` is only reached inside `withLock`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
