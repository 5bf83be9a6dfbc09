import Glibc
import Testing
@testable import SluiceIO

@Suite(.serialized) struct SignalWatcherTests {
    /// The watcher blocks its signals in the calling thread; `raise` sends to that same thread,
    /// so the signal waits in the signalfd and never reaches another test's thread.
    @Test func raisedSignalsReachTheCallback() throws {
        var previous = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &previous)
        defer { restoreMask(previous) }

        let loop = try EventLoop()
        var received: [Int32] = []
        _ = try SignalWatcher(loop: loop) { received.append($0) }
        raise(SIGUSR1)
        raise(SIGHUP)
        #expect(loop.run(until: { received.count >= 2 }))
        loop.run(for: 0.01)
        // Standard signals come out lowest number first.
        #expect(received == [SIGHUP, SIGUSR1])
        raise(SIGUSR2)
        #expect(loop.run(until: { received.count >= 3 }))
        #expect(received == [SIGHUP, SIGUSR1, SIGUSR2])
    }

    @Test func ignoringBrokenPipesMakesWritesFailWithEPIPE() throws {
        SignalWatcher.ignoreBrokenPipes()
        let (a, b) = try makeSocketPair()
        defer { close(a) }
        close(b)
        let result = Glibc.write(a, "x", 1)  // plain write, no MSG_NOSIGNAL
        let code = errno
        #expect(result == -1)
        #expect(code == EPIPE)
    }

    /// Takes any of the watched signals still pending (so unblocking cannot kill the process),
    /// then restores the thread's mask.
    private func restoreMask(_ previous: sigset_t) {
        var watched = sigset_t()
        sigemptyset(&watched)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] { sigaddset(&watched, signal) }
        var zero = timespec(tv_sec: 0, tv_nsec: 0)
        while sigtimedwait(&watched, nil, &zero) > 0 {}
        var previous = previous
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}
