import Glibc

/// A POSIX thread running one closure, for the event loops beyond the main thread's.
/// (Foundation's Thread would do, but Sluice's own targets stay free of Foundation.)
public final class LoopThread: Sendable {
    private let thread: pthread_t

    /// Starts `body` on a new thread. The thread inherits the caller's signal mask.
    public init(_ body: @escaping @Sendable () -> Void) throws {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw SocketError("pthread_create", code: result)
        }
        self.thread = thread
    }

    /// Starts `body` on a thread nobody joins: its resources go back when it returns.
    public static func detached(_ body: @escaping @Sendable () -> Void) throws {
        let thread = try LoopThread(body)
        pthread_detach(thread.thread)
    }

    /// Waits for the closure to return.
    public func join() {
        pthread_join(thread, nil)
    }

    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
