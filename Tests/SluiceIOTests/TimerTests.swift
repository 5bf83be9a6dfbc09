import Glibc
import Testing
@testable import SluiceIO

extension TimerQueue {
    /// Runs every timer due at `now`, as the loop does.
    mutating func fireDue(now: Double) {
        while let action = popDue(now: now) { action() }
    }
}

/// The heap on its own, with a fake clock.
@Suite struct TimerQueueTests {
    @Test func firesDueTimersInDeadlineOrder() {
        var queue = TimerQueue()
        var fired: [Int] = []
        _ = queue.schedule(at: 3) { fired.append(3) }
        _ = queue.schedule(at: 1) { fired.append(1) }
        _ = queue.schedule(at: 5) { fired.append(5) }
        _ = queue.schedule(at: 2) { fired.append(2) }
        _ = queue.schedule(at: 4) { fired.append(4) }
        queue.fireDue(now: 0.5)
        #expect(fired == [])
        queue.fireDue(now: 2)
        #expect(fired == [1, 2])
        queue.fireDue(now: 10)
        #expect(fired == [1, 2, 3, 4, 5])
        queue.fireDue(now: 20)
        #expect(fired == [1, 2, 3, 4, 5])
    }

    @Test func manyRandomDeadlinesComeOutSorted() {
        var queue = TimerQueue()
        var generator = SystemRandomNumberGenerator()
        let deadlines = (0..<1000).map { _ in Double.random(in: 0..<100, using: &generator) }
        var fired: [Double] = []
        for deadline in deadlines { _ = queue.schedule(at: deadline) { fired.append(deadline) } }
        queue.fireDue(now: 50)
        #expect(fired == deadlines.filter { $0 <= 50 }.sorted())
        queue.fireDue(now: 100)
        #expect(fired == deadlines.sorted())
    }

    @Test func timeoutForEpoll() {
        var queue = TimerQueue()
        #expect(queue.millisecondsUntilNext(now: 0) == -1)
        let first = queue.schedule(at: 10.0005) {}
        _ = queue.schedule(at: 12) {}
        // Rounded up, so the loop never wakes before the deadline.
        #expect(queue.millisecondsUntilNext(now: 10) == 1)
        #expect(queue.millisecondsUntilNext(now: 9) == 1001)
        #expect(queue.millisecondsUntilNext(now: 11) == 0)
        queue.cancel(first)
        // A cancelled head is skipped.
        #expect(queue.millisecondsUntilNext(now: 10) == 2000)
    }

    @Test func cancelledTimersNeverFire() {
        var queue = TimerQueue()
        var fired: [String] = []
        let a = queue.schedule(at: 1) { fired.append("a") }
        _ = queue.schedule(at: 2) { fired.append("b") }
        let c = queue.schedule(at: 3) { fired.append("c") }
        queue.cancel(a)
        queue.cancel(c)
        queue.cancel(c)  // twice is harmless
        queue.fireDue(now: 5)
        #expect(fired == ["b"])
        #expect(queue.millisecondsUntilNext(now: 5) == -1)
    }

    @Test func cancellingTheLastTimerEmptiesTheQueue() {
        var queue = TimerQueue()
        var fired = 0
        let only = queue.schedule(at: 1) { fired += 1 }
        queue.cancel(only)
        #expect(queue.millisecondsUntilNext(now: 0) == -1)
        _ = queue.schedule(at: 2) { fired += 10 }
        queue.fireDue(now: 3)
        #expect(fired == 10)
    }
}

/// Timers driven by a real loop.
@Suite struct EventLoopTimerTests {
    @Test func firesInOrderOfDelay() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        loop.schedule(after: 0.03) { fired.append("30ms") }
        loop.schedule(after: 0.01) { fired.append("10ms") }
        loop.schedule(after: 0.02) { fired.append("20ms") }
        loop.schedule(after: 0) { fired.append("now") }
        #expect(loop.run(until: { fired.count == 4 }))
        #expect(fired == ["now", "10ms", "20ms", "30ms"])
    }

    @Test func waitsAtLeastTheDelay() throws {
        let loop = try EventLoop()
        let start = MonotonicClock.now()
        var firedAt: Double?
        loop.schedule(after: 0.05) { firedAt = MonotonicClock.now() }
        #expect(loop.run(until: { firedAt != nil }))
        let elapsed = try #require(firedAt) - start
        #expect(elapsed >= 0.05)
        #expect(elapsed < 1)
    }

    @Test func cancelPreventsFiring() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        let cancelled = loop.schedule(after: 0.01) { fired.append("cancelled") }
        loop.schedule(after: 0.02) { fired.append("kept") }
        loop.cancel(cancelled)
        loop.run(for: 0.05)
        #expect(fired == ["kept"])
    }

    @Test func aTimerCanCancelAnotherDueInTheSamePass() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        var second: TimerID?
        loop.schedule(after: 0.001) {
            fired.append("first")
            if let second { loop.cancel(second) }
        }
        second = loop.schedule(after: 0.002) { fired.append("second") }
        usleep(10_000)  // both are due when the loop first looks
        loop.run(for: 0.03)
        #expect(fired == ["first"])
    }

    @Test func aTimerScheduledFromATimerFires() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        loop.schedule(after: 0.005) {
            fired.append("outer")
            loop.schedule(after: 0) {
                fired.append("inner now")
                loop.schedule(after: 0.01) { fired.append("inner later") }
            }
        }
        #expect(loop.run(until: { fired.count == 3 }))
        #expect(fired == ["outer", "inner now", "inner later"])
    }

    @Test func zeroDelayRunsOnTheNextTurnWithoutBlocking() throws {
        let loop = try EventLoop()
        var count = 0
        func again() {
            count += 1
            if count < 100 { loop.schedule(after: 0, again) } else { loop.stop() }
        }
        loop.schedule(after: 0, again)
        loop.schedule(after: 5) { [unowned loop] in loop.stop() }  // safety bound
        let start = MonotonicClock.now()
        loop.run()
        #expect(count == 100)
        #expect(MonotonicClock.now() - start < 1)
    }

    @Test func negativeDelayFiresAtOnce() throws {
        let loop = try EventLoop()
        var fired = false
        loop.schedule(after: -3) { fired = true }
        #expect(loop.run(timeout: 1, until: { fired }))
    }
}
