import Foundation
import Glibc
import Synchronization
import Testing
@testable import SluiceIO

/// Lets a test hand its loop to another thread; only `execute` is called from there.
private final class LoopReference: @unchecked Sendable {
    let loop: EventLoop
    init(_ loop: EventLoop) { self.loop = loop }
}

@Suite struct ExecuteTests {
    @Test func executeFromAnotherThreadWakesTheLoop() throws {
        let loop = try EventLoop()
        let reference = LoopReference(loop)
        let loopThread = pthread_self()
        let ranOnLoopThread = Atomic<Bool>(false)
        let ran = Atomic<Int>(0)
        var wokenAt: Double?
        // A long safety bound: only the mailbox can end the run early.
        loop.schedule(after: 5) { [unowned loop] in loop.stop() }
        let start = MonotonicClock.now()
        let thread = Thread {
            usleep(50_000)  // let the loop block in epoll_wait first
            reference.loop.execute {
                ran.add(1, ordering: .sequentiallyConsistent)
                ranOnLoopThread.store(pthread_equal(pthread_self(), loopThread) != 0, ordering: .sequentiallyConsistent)
                reference.loop.stop()
            }
        }
        thread.start()
        loop.run()
        wokenAt = MonotonicClock.now()
        let runs = ran.load(ordering: .sequentiallyConsistent)
        let onLoopThread = ranOnLoopThread.load(ordering: .sequentiallyConsistent)
        #expect(runs == 1)
        #expect(onLoopThread)
        let elapsed = try #require(wokenAt) - start
        #expect(elapsed >= 0.04)
        #expect(elapsed < 2)
    }

    @Test func everyPostFromManyThreadsRunsOnceOnTheLoop() throws {
        let loop = try EventLoop()
        let reference = LoopReference(loop)
        let loopThread = pthread_self()
        let ran = Atomic<Int>(0)
        let offThread = Atomic<Int>(0)
        let threads = 4, posts = 2000
        for _ in 0..<threads {
            Thread {
                for index in 0..<posts {
                    reference.loop.execute {
                        ran.add(1, ordering: .relaxed)
                        if pthread_equal(pthread_self(), loopThread) == 0 { offThread.add(1, ordering: .relaxed) }
                    }
                    if index % 500 == 0 { usleep(1000) }
                }
            }.start()
        }
        let finished = loop.run(timeout: 10) { ran.load(ordering: .relaxed) == threads * posts }
        #expect(finished)
        // Nothing runs twice: a little more time changes nothing.
        loop.run(for: 0.02)
        let runs = ran.load(ordering: .relaxed)
        let runsOffThread = offThread.load(ordering: .relaxed)
        #expect(runs == threads * posts)
        #expect(runsOffThread == 0)
    }

    @Test func workPostedFromTheLoopItselfRunsOnALaterTurn() throws {
        let loop = try EventLoop()
        let reference = LoopReference(loop)
        let order = Mutex<[String]>([])
        loop.execute {
            order.withLock { $0.append("first") }
            reference.loop.execute { order.withLock { $0.append("nested") } }
            order.withLock { $0.append("first done") }
        }
        #expect(loop.run(timeout: 2) { order.withLock { $0.count } == 3 })
        let seen = order.withLock { $0 }
        #expect(seen == ["first", "first done", "nested"])
    }
}
