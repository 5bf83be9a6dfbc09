import Glibc
import Testing
@testable import SluiceIO

@Suite struct BackpressureTests {
    @Test func largeTransferWithAPausingReaderArrivesIntactAndDrainsOnce() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        let writer = try Connection(fd: a, loop: loop)
        let reader = try Connection(fd: b, loop: loop)
        defer { writer.close(); reader.close() }
        let writerEvents = Recorder()
        let readerEvents = Recorder()
        writer.delegate = writerEvents
        reader.delegate = readerEvents

        let data = pattern(count: 8 << 20)
        let trailer: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        let total = data.count + trailer.count

        // The reader does not read at first, so the socket fills and the writer queues.
        reader.pauseReading()
        #expect(!writer.send(data))
        #expect(writer.hasPendingOutput)
        // Once bytes are queued, later sends queue behind them, keeping order.
        #expect(!writer.send(trailer))

        // Every megabyte the reader pauses again and resumes a little later.
        var pauses = 0
        var nextPauseAt = 1 << 20
        readerEvents.onReadable = { [unowned readerEvents] connection in
            readerEvents.consumeAll(connection)
            if readerEvents.received.count >= nextPauseAt {
                nextPauseAt += 1 << 20
                pauses += 1
                connection.pauseReading()
                loop.schedule(after: 0.002) { connection.resumeReading() }
            }
        }

        var deliveredWhilePaused: Int?
        var drainedWhilePaused: Int?
        loop.schedule(after: 0.05) {
            deliveredWhilePaused = readerEvents.received.count
            drainedWhilePaused = writerEvents.drained
            reader.resumeReading()
        }
        #expect(loop.run(timeout: 20, until: { readerEvents.received.count == total && writerEvents.drained > 0 }))
        loop.run(for: 0.01)

        #expect(deliveredWhilePaused == 0)
        #expect(drainedWhilePaused == 0)
        #expect(writerEvents.drained == 1)
        #expect(!writer.hasPendingOutput)
        #expect(readerEvents.received.count == total)
        expectSameBytes(readerEvents.received, data + trailer)
        #expect(pauses >= 7)
        #expect(writerEvents.closedReason == nil)
        #expect(readerEvents.closedReason == nil)
        #expect(reader.input == nil)
    }

    @Test func sendFromABufferQueuesTheUnwrittenPart() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        let writer = try Connection(fd: a, loop: loop)
        let reader = try Connection(fd: b, loop: loop)
        defer { writer.close(); reader.close() }
        let writerEvents = Recorder()
        let readerEvents = Recorder()
        writer.delegate = writerEvents
        reader.delegate = readerEvents
        reader.pauseReading()

        let chunk = 256 * 1024
        let data = pattern(count: 16 * chunk)
        let source = IOBuffer(capacity: chunk + 2)
        var results: [Bool] = []
        for index in 0..<16 {
            source.clear()
            source.append([0xFF])  // skipped by offset
            source.append(data[(index * chunk)..<((index + 1) * chunk)])
            source.append([0xFF])  // left out by count
            results.append(writer.send(from: source, offset: 1, count: chunk))
        }
        // The first send fills the socket; the rest queue behind it.
        #expect(results.first == false)
        #expect(results.allSatisfy { !$0 })
        reader.resumeReading()
        #expect(loop.run(timeout: 10, until: { readerEvents.received.count == data.count && writerEvents.drained == 1 }))
        expectSameBytes(readerEvents.received, data)
    }

    /// A paused reader whose peer sent everything and closed must neither read nor report
    /// anything until it resumes; then it gets every byte, then the end of file.
    @Test func pausedReaderIgnoresThePeersCloseUntilResumed() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        let reader = try Connection(fd: a, loop: loop)
        defer { reader.close() }
        let events = Recorder()
        reader.delegate = events
        reader.pauseReading()
        let data = pattern(count: 100_000)
        let writerThreadDone = try sendAndCloseInBackground(fd: b, data: data)

        loop.run(for: 0.1)
        #expect(events.readableCalls == 0)
        #expect(events.received.count == 0)
        #expect(events.closedReason == nil)
        #expect(reader.input == nil)
        #expect(!reader.isClosed)

        reader.resumeReading()
        #expect(loop.run(until: { events.closedReason != nil }))
        expectSameBytes(events.received, data)
        #expect(events.closedReason == .endOfFile)
        writerThreadDone()
    }

    /// A TCP peer that shuts down its sending side but keeps reading (a half-close) must still get
    /// everything queued for it, even while our side is not reading; the end of file is seen on resuming.
    @Test func pausedWriterStillDeliversToAHalfClosedPeer() throws {
        let loop = try EventLoop()
        let listening = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        defer { Socket.close(listening) }
        let client = try blockingConnectTCP(host: "127.0.0.1", port: localPort(listening))
        defer { close(client) }
        var accepted: Int32?
        for _ in 0..<1000 where accepted == nil {
            accepted = try Socket.accept(listening)?.fd
            if accepted == nil { usleep(1000) }
        }
        let server = try Connection(fd: try #require(accepted), loop: loop)
        defer { server.close() }
        let events = Recorder()
        server.delegate = events
        server.pauseReading()
        let data = pattern(count: 4 << 20)
        #expect(!server.send(data))
        #expect(shutdown(client, Int32(SHUT_WR)) == 0)

        setNonBlocking(client)
        var received: [UInt8] = []
        let reader = ProbeHandler()
        reader.onEvent = { _ in received += readAvailable(client) }
        try loop.register(client, interest: .readable, handler: reader)
        defer { loop.unregister(client) }

        #expect(loop.run(timeout: 10, until: { events.drained == 1 || events.closedReason != nil }))
        loop.run(for: 0.02)
        #expect(events.closedReason == nil)
        #expect(events.readableCalls == 0)
        #expect(!server.isClosed)
        expectSameBytes(received, data)

        server.resumeReading()
        #expect(loop.run(until: { events.closedReason != nil }))
        #expect(events.closedReason == .endOfFile)
    }

    /// Writes `data` to `fd` from another thread (the socket buffer is smaller than the data),
    /// then closes it. Returns a function that waits for the thread.
    private func sendAndCloseInBackground(fd: Int32, data: [UInt8]) throws -> () -> Void {
        setBlocking(fd)
        final class Job: @unchecked Sendable {
            let fd: Int32
            let data: [UInt8]
            init(fd: Int32, data: [UInt8]) { self.fd = fd; self.data = data }
        }
        let job = Unmanaged.passRetained(Job(fd: fd, data: data))
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { raw in
            let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
            writeAll(job.fd, job.data)
            close(job.fd)
            return nil
        }, job.toOpaque())
        try #require(created == 0)
        return { pthread_join(thread, nil) }
    }
}
