import Glibc
import Testing
@testable import SluiceIO

@Suite struct IOBufferTests {
    @Test func appendThenReadBack() {
        let buffer = IOBuffer(capacity: 16)
        #expect(buffer.isEmpty)
        #expect(buffer.writableCount == 16)
        #expect(buffer.append([1, 2, 3, 4, 5]) == 5)
        #expect(buffer.readableCount == 5)
        #expect(buffer.writableCount == 11)
        #expect(buffer.copyBytes(at: 0, count: 5) == [1, 2, 3, 4, 5])
        #expect(buffer.copyBytes(at: 2, count: 3) == [3, 4, 5])
        #expect(buffer.copyBytes(at: 5, count: 0) == [])
        #expect(buffer.byte(at: 0) == 1)
        #expect(buffer.byte(at: 4) == 5)
    }

    @Test func uint32IsBigEndianRelativeToReadIndex() {
        let buffer = IOBuffer(capacity: 16)
        buffer.append([0xFF, 0x12, 0x34, 0x56, 0x78, 0x9A])
        #expect(buffer.uint32(at: 1) == 0x1234_5678)
        #expect(buffer.uint32(at: 2) == 0x3456_789A)
        buffer.consume(1)
        #expect(buffer.uint32(at: 0) == 0x1234_5678)
        #expect(buffer.byte(at: 0) == 0x12)
    }

    @Test func consumeAdvancesAndResetsWhenEmpty() {
        let buffer = IOBuffer(capacity: 8)
        buffer.append([1, 2, 3, 4, 5, 6])
        buffer.consume(2)
        #expect(buffer.readIndex == 2)
        #expect(buffer.readableCount == 4)
        #expect(buffer.copyBytes(at: 0, count: 4) == [3, 4, 5, 6])
        buffer.consume(0)
        #expect(buffer.readIndex == 2)
        buffer.consume(4)
        #expect(buffer.isEmpty)
        // Draining the buffer rewinds both indices, so the whole capacity is writable again.
        #expect(buffer.readIndex == 0)
        #expect(buffer.writeIndex == 0)
        #expect(buffer.writableCount == 8)
    }

    @Test func compactMovesUnreadBytesToTheFront() {
        let buffer = IOBuffer(capacity: 8)
        buffer.append([1, 2, 3, 4, 5, 6, 7])
        buffer.consume(5)
        #expect(buffer.writableCount == 1)
        buffer.compact()
        #expect(buffer.readIndex == 0)
        #expect(buffer.writeIndex == 2)
        #expect(buffer.writableCount == 6)
        #expect(buffer.copyBytes(at: 0, count: 2) == [6, 7])
        buffer.compact()  // nothing to move
        #expect(buffer.copyBytes(at: 0, count: 2) == [6, 7])
    }

    @Test func appendCompactsWhenNeededAndReportsWhatFit() {
        let buffer = IOBuffer(capacity: 8)
        buffer.append([1, 2, 3, 4, 5, 6])
        buffer.consume(4)
        // 2 unread + 5 new = 7 fits only after compacting.
        #expect(buffer.append([7, 8, 9, 10, 11]) == 5)
        #expect(buffer.readIndex == 0)
        #expect(buffer.copyBytes(at: 0, count: 7) == [5, 6, 7, 8, 9, 10, 11])
        // Only one more byte fits.
        #expect(buffer.append([12, 13, 14]) == 1)
        #expect(buffer.readableCount == 8)
        #expect(buffer.copyBytes(at: 0, count: 8) == [5, 6, 7, 8, 9, 10, 11, 12])
        #expect(buffer.append([99]) == 0)
    }

    @Test func appendFromAnotherBuffer() {
        let source = IOBuffer(capacity: 16)
        source.append([10, 20, 30, 40, 50, 60])
        source.consume(1)
        let target = IOBuffer(capacity: 4)
        target.append([1, 2])
        target.consume(1)
        #expect(target.append(from: source, offset: 1, count: 3) == 3)
        #expect(target.copyBytes(at: 0, count: 4) == [2, 30, 40, 50])
        #expect(target.append(from: source, offset: 0, count: 5) == 0)
        // The source is untouched.
        #expect(source.copyBytes(at: 0, count: 5) == [20, 30, 40, 50, 60])
    }

    @Test func clearForgetsEverything() {
        let buffer = IOBuffer(capacity: 4)
        buffer.append([1, 2, 3])
        buffer.consume(1)
        buffer.clear()
        #expect(buffer.isEmpty)
        #expect(buffer.writableCount == 4)
    }

    // MARK: Bounds (each precondition must stop the process)

    @Test func byteBeyondUnreadBytesTraps() async {
        await #expect(processExitsWith: .failure) {
            let buffer = IOBuffer(capacity: 8)
            buffer.append([1, 2, 3])
            buffer.consume(1)
            _ = buffer.byte(at: 2)
        }
    }

    @Test func negativeByteOffsetTraps() async {
        await #expect(processExitsWith: .failure) {
            let buffer = IOBuffer(capacity: 8)
            buffer.append([1, 2, 3])
            _ = buffer.byte(at: -1)
        }
    }

    @Test func uint32StraddlingTheEndTraps() async {
        await #expect(processExitsWith: .failure) {
            let buffer = IOBuffer(capacity: 8)
            buffer.append([1, 2, 3, 4, 5])
            _ = buffer.uint32(at: 2)
        }
    }

    @Test func copyBeyondUnreadBytesTraps() async {
        await #expect(processExitsWith: .failure) {
            let buffer = IOBuffer(capacity: 8)
            buffer.append([1, 2, 3, 4])
            _ = buffer.copyBytes(at: 1, count: 4)
        }
    }

    @Test func consumingMoreThanUnreadTraps() async {
        await #expect(processExitsWith: .failure) {
            let buffer = IOBuffer(capacity: 8)
            buffer.append([1, 2])
            buffer.consume(3)
        }
    }

    @Test func writingBeyondUnreadBytesTraps() async {
        await #expect(processExitsWith: .failure) {
            let buffer = IOBuffer(capacity: 8)
            buffer.append([1, 2])
            _ = buffer.write(to: 1, offset: 1, count: 2)
        }
    }

    // MARK: System calls

    @Test func readsFromASocketPair() throws {
        let (a, b) = try makeSocketPair()
        defer { close(a) }
        let buffer = IOBuffer(capacity: 64)
        #expect(buffer.read(from: a) == .wouldBlock)
        let sent = pattern(count: 40)
        writeAll(b, sent)
        #expect(buffer.read(from: a) == .bytes(40))
        #expect(buffer.copyBytes(at: 0, count: 40) == sent)
        #expect(buffer.read(from: a) == .wouldBlock)
        writeAll(b, pattern(count: 100, seed: 7))
        // Only the free space is filled: 24 of the 100 bytes.
        #expect(buffer.read(from: a) == .bytes(24))
        #expect(buffer.readableCount == 64)
        #expect(buffer.copyBytes(at: 40, count: 24) == Array(pattern(count: 100, seed: 7).prefix(24)))
        // A full buffer reads nothing and does not touch the socket.
        #expect(buffer.read(from: a) == .bytes(0))
        // Consuming makes room at the front; read compacts first.
        buffer.consume(60)
        #expect(buffer.read(from: a) == .bytes(60))
        #expect(buffer.copyBytes(at: 0, count: 4) == Array(pattern(count: 100, seed: 7)[20..<24]))
        #expect(buffer.copyBytes(at: 4, count: 60) == Array(pattern(count: 100, seed: 7)[24..<84]))
        close(b)
        buffer.clear()
        #expect(buffer.read(from: a) == .bytes(16))
        // A process spawned by a parallel test may hold a copy of `b` for a moment between its
        // fork and exec, delaying the end of file: wait for it rather than race it.
        var result = buffer.read(from: a)
        for _ in 0..<100 where result == .wouldBlock {
            usleep(10_000)
            result = buffer.read(from: a)
        }
        #expect(result == .endOfFile)
    }

    @Test func writesToASocketPairWithoutConsuming() throws {
        let (a, b) = try makeSocketPair()
        defer { close(a); close(b) }
        let buffer = IOBuffer(capacity: 32)
        buffer.append([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        buffer.consume(1)
        #expect(buffer.write(to: a, offset: 2, count: 5) == .bytes(5))
        #expect(buffer.readableCount == 9)
        #expect(readExactly(b, count: 5) == [3, 4, 5, 6, 7])
        #expect(buffer.write(to: a) == .bytes(9))
        #expect(readExactly(b, count: 9) == [1, 2, 3, 4, 5, 6, 7, 8, 9])
        #expect(buffer.write(to: a, offset: 9) == .bytes(0))
    }

    @Test func writeToAClosedPeerFailsWithEPIPE() throws {
        SignalWatcher.ignoreBrokenPipes()
        let (a, b) = try makeSocketPair()
        defer { close(a) }
        close(b)
        let buffer = IOBuffer(capacity: 8)
        buffer.append([1, 2, 3])
        #expect(buffer.write(to: a) == .failed(EPIPE))
    }

    @Test func writeToAFullSocketWouldBlock() throws {
        let (a, b) = try makeSocketPair()
        defer { close(a); close(b) }
        let buffer = IOBuffer(capacity: 64 * 1024)
        buffer.append([UInt8](repeating: 7, count: 64 * 1024))
        var total = 0
        var last = IOResult.bytes(0)
        for _ in 0..<10_000 {
            last = buffer.write(to: a)
            guard case .bytes(let count) = last else { break }
            total += count
        }
        #expect(last == .wouldBlock)
        #expect(total > 0)
    }

    @Test func writesToAPipeThroughThePlainWritePath() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let buffer = IOBuffer(capacity: 8)
        buffer.append([9, 8, 7])
        #expect(buffer.write(to: fds[1]) == .bytes(3))
        #expect(readExactly(fds[0], count: 3) == [9, 8, 7])
    }
}

@Suite struct BufferPoolTests {
    @Test func reusesAGivenBackBuffer() {
        let pool = BufferPool(bufferSize: 32)
        let first = pool.take()
        #expect(first.capacity == 32)
        first.append([1, 2, 3])
        pool.give(first)
        // Handed back cleared.
        #expect(first.isEmpty)
        let again = pool.take()
        #expect(again === first)
        #expect(again.writableCount == 32)
        let fresh = pool.take()
        #expect(fresh !== first)
    }

    @Test func keepsAtMostMaximumFree() {
        let pool = BufferPool(bufferSize: 16, maximumFree: 2)
        let buffers = (0..<3).map { _ in pool.take() }
        for buffer in buffers { pool.give(buffer) }
        let taken = (0..<3).map { _ in pool.take() }
        let reused = taken.filter { candidate in buffers.contains { $0 === candidate } }
        #expect(reused.count == 2)
        // Last in, first out: the two kept are the first two given back.
        #expect(taken[0] === buffers[1])
        #expect(taken[1] === buffers[0])
        #expect(!buffers.contains { $0 === taken[2] })
    }

    @Test func refusesBuffersOfAnotherSize() {
        let pool = BufferPool(bufferSize: 16)
        let foreign = IOBuffer(capacity: 8)
        pool.give(foreign)
        #expect(pool.take() !== foreign)
    }
}
