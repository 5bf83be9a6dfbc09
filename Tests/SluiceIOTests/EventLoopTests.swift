import Glibc
import Testing
@testable import SluiceIO

@Suite struct EventLoopTests {
    @Test func reportsReadableAndWritableAsAsked() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        defer { close(a); close(b) }
        let probe = ProbeHandler()
        try loop.register(a, interest: .writable, handler: probe)
        defer { loop.unregister(a) }
        #expect(loop.run(until: { !probe.events.isEmpty }))
        #expect(probe.events.first == .writable)
        loop.setInterest(a, .readable)
        probe.events = []
        loop.run(for: 0.02)
        #expect(probe.events.isEmpty)  // nothing to read yet
        writeAll(b, [1])
        #expect(loop.run(until: { !probe.events.isEmpty }))
        #expect(probe.events.first == .readable)
        loop.setInterest(a, [])
        probe.events = []
        loop.run(for: 0.02)
        #expect(probe.events.isEmpty)  // still readable, but not asked for
    }

    @Test func unregisteredDescriptorsAreSilent() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        defer { close(a); close(b) }
        let probe = ProbeHandler()
        try loop.register(a, interest: .readable, handler: probe)
        loop.unregister(a)
        writeAll(b, [1])
        loop.run(for: 0.02)
        #expect(probe.events.isEmpty)
    }

    @Test func registeringAnInvalidDescriptorThrows() throws {
        let loop = try EventLoop()
        let probe = ProbeHandler()
        #expect(throws: SocketError.self) { try loop.register(9999, interest: .readable, handler: probe) }
    }

    /// Two descriptors are readable in one epoll batch. The first handler to run closes the other
    /// descriptor and opens a new one that reuses its number: the event already fetched for the
    /// old descriptor must reach neither the old handler nor the new one.
    @Test func staleEventForAReusedDescriptorIsDropped() throws {
        let loop = try EventLoop()
        let (x0, x1) = try makeSocketPair()
        let (y0, y1) = try makeSocketPair()
        defer { close(x1); close(y1) }
        let first = ProbeHandler(), second = ProbeHandler(), newcomer = ProbeHandler()
        var reusedFd: Int32?
        var otherFd: Int32?
        var extraPair: (Int32, Int32)?
        func takeOver(closing victim: Int32) {
            guard otherFd == nil else { return }
            otherFd = victim
            loop.unregister(victim)
            // Close the victim and put a new socket under its number in one step (dup2), so no
            // other test's thread can take the number in between.
            guard let pair = try? makeSocketPair() else { return }
            if dup2(pair.0, victim) == victim { reusedFd = victim }
            close(pair.0)
            extraPair = (victim, pair.1)
            // Not readable: any event it gets is the stale one.
            try? loop.register(victim, interest: .readable, handler: newcomer)
        }
        first.onEvent = { _ in takeOver(closing: y0) }
        second.onEvent = { _ in takeOver(closing: x0) }
        try loop.register(x0, interest: .readable, handler: first)
        try loop.register(y0, interest: .readable, handler: second)
        writeAll(x1, [1])
        writeAll(y1, [2])

        loop.run(for: 0.03)
        defer {
            if let extraPair {
                loop.unregister(extraPair.0)
                close(extraPair.0)
                close(extraPair.1)
            }
            for fd in [x0, y0] where fd != otherFd {
                loop.unregister(fd)
                close(fd)
            }
        }
        let victim = try #require(otherFd)
        // The construction worked: a new socket took the closed one's number.
        #expect(reusedFd == victim)
        #expect(newcomer.events.isEmpty)
        // Exactly one of the two original handlers ran (level-triggered, so possibly many times);
        // the closed one never did.
        let victimHandler = victim == x0 ? first : second
        let survivor = victim == x0 ? second : first
        #expect(victimHandler.events.isEmpty)
        #expect(!survivor.events.isEmpty)
    }

    @Test func handlersMayUnregisterThemselves() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        defer { close(a); close(b) }
        let probe = ProbeHandler()
        probe.onEvent = { _ in loop.unregister(a) }
        try loop.register(a, interest: .readable, handler: probe)
        writeAll(b, [1])
        loop.run(for: 0.02)
        #expect(probe.events.count == 1)
    }

    @Test func runCanBeRestartedAfterStop() throws {
        let loop = try EventLoop()
        var turns = 0
        loop.schedule(after: 0) { turns += 1; loop.stop() }
        loop.run()
        loop.schedule(after: 0) { turns += 1; loop.stop() }
        loop.run()
        #expect(turns == 2)
    }

    @Test func monotonicClockMovesForward() {
        let first = MonotonicClock.now()
        usleep(2000)
        let second = MonotonicClock.now()
        #expect(second - first >= 0.002)
        #expect(second - first < 1)
    }
}
