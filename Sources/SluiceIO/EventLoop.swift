import CSluiceSys
import Glibc

/// Readiness reported for a descriptor.
public struct IOEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readable = IOEvents(rawValue: SLUICE_EPOLLIN)
    public static let writable = IOEvents(rawValue: SLUICE_EPOLLOUT)
    /// Error or hang-up: the handler should read to learn what happened, then close.
    public static let hangUp = IOEvents(rawValue: SLUICE_EPOLLERR | SLUICE_EPOLLHUP | SLUICE_EPOLLRDHUP)
}

/// Something that owns a descriptor registered with a loop.
public protocol EventHandler: AnyObject {
    func handle(_ events: IOEvents)
}

/// One epoll instance driven by one thread. Everything registered with a loop is touched only
/// from that loop's thread; other threads talk to it with `execute(_:)`, the one method that is
/// safe to call from anywhere (hence `@unchecked Sendable`: a reference may be passed around,
/// but only `execute` may be used through it off the loop's thread).
public final class EventLoop: @unchecked Sendable {
    private let epoll: Int32
    private var handlers: [Slot] = []
    private var running = false
    private let wakeup: Int32
    private let mailbox = Mailbox()
    private var timers = TimerQueue()
    private var deferred: [() -> Void] = []
    /// The thread running the loop, once `run` started; what is registered is touched only there.
    private var owner: pthread_t?
    public let buffers: BufferPool

    private struct Slot {
        var handler: EventHandler?
        var generation: UInt32 = 0
    }

    public init(bufferSize: Int = 16 * 1024) throws {
        epoll = sluice_epoll_create()
        guard epoll >= 0 else { throw SocketError("epoll_create1") }
        wakeup = sluice_eventfd()
        guard wakeup >= 0 else { throw SocketError("eventfd") }
        buffers = BufferPool(bufferSize: bufferSize)
        guard sluice_epoll_ctl(epoll, EPOLL_CTL_ADD, wakeup, SLUICE_EPOLLIN, UInt64(UInt32.max)) == 0 else {
            throw SocketError("epoll_ctl wakeup")
        }
    }

    deinit {
        Glibc.close(wakeup)
        Glibc.close(epoll)
    }

    /// Watches `fd` for `interest` and routes its events to `handler` until `unregister`.
    public func register(_ fd: Int32, interest: IOEvents, handler: EventHandler) throws {
        assert(isOnLoopThread, "register off the loop's thread")
        let index = Int(fd)
        if index >= handlers.count {
            handlers.append(contentsOf: repeatElement(Slot(), count: max(index + 1 - handlers.count, handlers.count)))
        }
        handlers[index].generation &+= 1
        handlers[index].handler = handler
        guard sluice_epoll_ctl(epoll, EPOLL_CTL_ADD, fd, mask(interest), token(fd)) == 0 else {
            handlers[index].handler = nil
            throw SocketError("epoll_ctl add")
        }
    }

    public func setInterest(_ fd: Int32, _ interest: IOEvents) {
        assert(isOnLoopThread, "setInterest off the loop's thread")
        _ = sluice_epoll_ctl(epoll, EPOLL_CTL_MOD, fd, mask(interest), token(fd))
    }

    /// EPOLLRDHUP (the peer closed its side) is asked for only with `.readable`: a handler that
    /// stopped reading hears of it when it reads again, instead of being woken over and over
    /// (level-triggered) meanwhile. EPOLLERR and EPOLLHUP are always reported.
    private func mask(_ interest: IOEvents) -> UInt32 {
        interest.contains(.readable) ? interest.rawValue | SLUICE_EPOLLRDHUP : interest.rawValue
    }

    /// Stops watching `fd`; events already fetched for it are dropped.
    public func unregister(_ fd: Int32) {
        assert(isOnLoopThread, "unregister off the loop's thread")
        _ = sluice_epoll_ctl(epoll, EPOLL_CTL_DEL, fd, 0, 0)
        let index = Int(fd)
        if index < handlers.count {
            handlers[index].handler = nil
            handlers[index].generation &+= 1
        }
    }

    /// The epoll token: the descriptor and a generation, so an event for a closed and reused
    /// descriptor fetched in the same batch is recognised as stale.
    private func token(_ fd: Int32) -> UInt64 {
        UInt64(handlers[Int(fd)].generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    // MARK: Timers

    /// Runs `action` on this loop after `delay` seconds unless cancelled first.
    @discardableResult
    public func schedule(after delay: Double, _ action: @escaping () -> Void) -> TimerID {
        assert(isOnLoopThread, "schedule off the loop's thread")
        return timers.schedule(at: MonotonicClock.now() + delay, action)
    }

    public func cancel(_ timer: TimerID) {
        assert(isOnLoopThread, "cancel off the loop's thread")
        timers.cancel(timer)
    }

    /// Runs `work` on this loop as soon as the event, timer or posted work being handled now
    /// is done: for letting go of a connection whose handler is still on the stack.
    public func afterCurrentEvent(_ work: @escaping () -> Void) {
        assert(isOnLoopThread, "afterCurrentEvent off the loop's thread")
        deferred.append(work)
    }

    private func runDeferred() {
        while !deferred.isEmpty {
            let work = deferred
            deferred.removeAll(keepingCapacity: true)
            for item in work { item() }
        }
    }

    // MARK: Cross-thread work

    /// Runs `work` on this loop's thread soon; callable from any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        if mailbox.post(work) {
            var one: UInt64 = 1
            _ = Glibc.write(wakeup, &one, 8)
        }
    }

    // MARK: Running

    /// Runs until `stop()`. Call from the thread that owns the loop.
    public func run() {
        owner = pthread_self()
        running = true
        var masks = [UInt32](repeating: 0, count: 256)
        var tokens = [UInt64](repeating: 0, count: 256)
        while running {
            let timeout = timers.millisecondsUntilNext(now: MonotonicClock.now())
            let count = sluice_epoll_wait(epoll, &masks, &tokens, 256, timeout)
            if count < 0 && errno != EINTR { break }
            for index in 0..<Int(max(count, 0)) {
                dispatch(token: tokens[index], mask: masks[index])
                if !deferred.isEmpty { runDeferred() }
            }
            let now = MonotonicClock.now()
            while let action = timers.popDue(now: now) {
                action()
                if !deferred.isEmpty { runDeferred() }
            }
        }
    }

    public func stop() { running = false }

    /// True on the loop's own thread, and anywhere before the loop first runs (setting up).
    public var isOnLoopThread: Bool {
        guard let owner else { return true }
        return pthread_equal(owner, pthread_self()) != 0
    }

    private func dispatch(token: UInt64, mask: UInt32) {
        if token == UInt64(UInt32.max) {
            var value: UInt64 = 0
            _ = Glibc.read(wakeup, &value, 8)
            for work in mailbox.drain() { work() }
            return
        }
        let fd = Int(UInt32(truncatingIfNeeded: token))
        let generation = UInt32(truncatingIfNeeded: token >> 32)
        guard fd < handlers.count, handlers[fd].generation == generation, let handler = handlers[fd].handler else { return }
        handler.handle(IOEvents(rawValue: mask))
    }
}

/// CLOCK_MONOTONIC in seconds.
public enum MonotonicClock {
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
