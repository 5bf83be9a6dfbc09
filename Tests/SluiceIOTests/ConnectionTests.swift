import Glibc
import Testing
@testable import SluiceIO

@Suite struct ConnectionTests {
    /// A listener whose accepted connections echo everything back.
    private final class EchoServer {
        let loop: EventLoop
        var listener: Listener!
        var connections: [Connection] = []
        let delegate = Recorder()
        init(loop: EventLoop, fd: Int32) throws {
            self.loop = loop
            delegate.onReadable = { connection in
                guard let input = connection.input else { return }
                connection.send(from: input, count: input.readableCount)
                input.consume(input.readableCount)
            }
            listener = try Listener(fd: fd, address: "echo", loop: loop, onAccept: { [unowned self] fd, _ in
                guard let connection = try? Connection(fd: fd, loop: loop) else { return Socket.close(fd) }
                connection.delegate = delegate
                connections.append(connection)
            }, onError: { Issue.record("accept: \($0)") })
        }
        func close() {
            for connection in connections { connection.close() }
            listener.close()
        }
    }

    @Test func echoRoundTripOverTCP() throws {
        let loop = try EventLoop()
        let fd = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        let server = try EchoServer(loop: loop, fd: fd)
        defer { server.close() }
        let client = Recorder()
        let message = Array("hello, sluice".utf8)
        client.onEstablished = { connection in
            #expect(connection.send(message))
        }
        let connection = try Connection.connect(host: "127.0.0.1", port: localPort(fd), loop: loop)
        defer { connection.close() }
        connection.delegate = client
        #expect(loop.run(until: { client.received.count >= message.count }))
        #expect(client.established == 1)
        #expect(client.received == message)
        #expect(client.closedReason == nil)
        #expect(client.drained == 0)  // everything went out in one write
    }

    @Test func bytesSentWhileConnectingGoOutOnceConnected() throws {
        let loop = try EventLoop()
        let fd = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        let server = try EchoServer(loop: loop, fd: fd)
        defer { server.close() }
        let client = Recorder()
        let connection = try Connection.connect(host: "127.0.0.1", port: localPort(fd), loop: loop)
        defer { connection.close() }
        connection.delegate = client
        #expect(!connection.send([1, 2, 3]))
        #expect(!connection.send([4, 5]))
        #expect(connection.hasPendingOutput)
        #expect(loop.run(until: { client.received.count >= 5 }))
        #expect(client.received == [1, 2, 3, 4, 5])
        #expect(client.established == 1)
        #expect(client.drained == 1)
        #expect(!connection.hasPendingOutput)
    }

    @Test func connectsThroughAUnixSocketDirectory() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let loop = try EventLoop()
        let fd = try Socket.listenUnix(path: "\(directory)/.s.PGSQL.6543")
        let server = try EchoServer(loop: loop, fd: fd)
        defer { server.close() }
        let client = Recorder()
        client.onEstablished = { $0.send(Array("over unix".utf8)) }
        let connection = try Connection.connect(host: directory, port: 6543, loop: loop)
        defer { connection.close() }
        connection.delegate = client
        #expect(loop.run(until: { client.received.count >= 9 }))
        #expect(client.established == 1)
        #expect(client.received == Array("over unix".utf8))
    }

    @Test func connectingToAMissingUnixSocketThrows() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let loop = try EventLoop()
        do {
            let connection = try Connection.connect(host: directory, port: 5432, loop: loop)
            connection.close()
            Issue.record("connected to a socket that does not exist")
        } catch let error as SocketError {
            #expect(error.code == ENOENT)
        }
    }

    @Test func connectToAClosedPortReportsRefused() throws {
        let loop = try EventLoop()
        let port = try unusedPort()
        let client = Recorder()
        let connection = try Connection.connect(host: "127.0.0.1", port: port, loop: loop)
        connection.delegate = client
        #expect(loop.run(until: { client.closedReason != nil }))
        #expect(client.closedReason == .connectFailed(ECONNREFUSED))
        #expect(client.closedCount == 1)
        #expect(client.established == 0)
        #expect(connection.isClosed)
    }

    @Test func endOfFileIsReportedAfterTheLastBytes() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        var opened = stat()
        fstat(a, &opened)
        let connection = try Connection(fd: a, loop: loop)
        let recorder = Recorder()
        connection.delegate = recorder
        writeAll(b, Array("goodbye".utf8))
        close(b)
        #expect(loop.run(until: { recorder.closedReason != nil }))
        #expect(recorder.received == Array("goodbye".utf8))
        #expect(recorder.closedReason == .endOfFile)
        #expect(recorder.closedCount == 1)
        #expect(connection.isClosed)
        #expect(connection.input == nil)
        // The descriptor was closed by the connection: the number is free, or a parallel test
        // has since been given it for another socket.
        var now = stat()
        #expect(fstat(a, &now) == -1 || now.st_ino != opened.st_ino)
    }

    @Test func peerResetIsReportedAsAnError() throws {
        let loop = try EventLoop()
        let listening = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        defer { Socket.close(listening) }
        let client = try blockingConnectTCP(host: "127.0.0.1", port: localPort(listening))
        var accepted: Int32?
        for _ in 0..<1000 where accepted == nil {
            accepted = try Socket.accept(listening)?.fd
            if accepted == nil { usleep(1000) }
        }
        let serverSide = try Connection(fd: try #require(accepted), loop: loop)
        let recorder = Recorder()
        serverSide.delegate = recorder
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(client)  // sends RST
        #expect(loop.run(until: { recorder.closedReason != nil }))
        #expect(recorder.closedReason == .error(ECONNRESET))
        #expect(recorder.closedCount == 1)
        #expect(serverSide.isClosed)
    }

    @Test func closeReasonsDescribeThemselves() {
        #expect(ConnectionCloseReason.endOfFile.description == "closed by peer")
        #expect(ConnectionCloseReason.error(ECONNRESET).description == "Connection reset by peer")
        #expect(ConnectionCloseReason.connectFailed(ECONNREFUSED).description == "connect failed: Connection refused")
    }

    // MARK: Buffers only while bytes are in flight

    @Test func inputBufferIsReturnedOnceConsumed() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        defer { close(b) }
        let connection = try Connection(fd: a, loop: loop)
        defer { connection.close() }
        let recorder = Recorder()
        var bufferSeen: IOBuffer?
        var inputDuringCallback: Int?
        recorder.onReadable = { [unowned recorder] connection in
            bufferSeen = connection.input
            inputDuringCallback = connection.input?.readableCount
            recorder.consumeAll(connection)
        }
        connection.delegate = recorder
        #expect(connection.input == nil)
        writeAll(b, [1, 2, 3, 4])
        #expect(loop.run(until: { recorder.received.count == 4 }))
        #expect(inputDuringCallback == 4)
        #expect(connection.input == nil)
        // The buffer went back to the loop's pool and is handed out again.
        let reused = loop.buffers.take()
        #expect(reused === bufferSeen)
        #expect(reused.isEmpty)
    }

    @Test func inputBufferIsKeptWhileBytesRemainUnread() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        defer { close(b) }
        let connection = try Connection(fd: a, loop: loop)
        defer { connection.close() }
        let recorder = Recorder()
        // Consumes only whole 4-byte frames, like a message decoder.
        recorder.onReadable = { [unowned recorder] connection in
            guard let input = connection.input else { return }
            while input.readableCount >= 4 {
                recorder.received += input.copyBytes(at: 0, count: 4)
                input.consume(4)
            }
        }
        connection.delegate = recorder
        writeAll(b, [1, 2, 3, 4, 5, 6])
        #expect(loop.run(until: { recorder.received.count == 4 }))
        loop.run(for: 0.01)
        #expect(recorder.received == [1, 2, 3, 4])
        let held = try #require(connection.input)
        #expect(held.copyBytes(at: 0, count: held.readableCount) == [5, 6])
        writeAll(b, [7, 8])
        #expect(loop.run(until: { recorder.received.count == 8 }))
        #expect(recorder.received == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(connection.input == nil)
        // Releasing by hand is a no-op while nothing is held, and works once the owner drains the buffer.
        writeAll(b, [9])
        #expect(loop.run(until: { connection.input != nil }))
        connection.releaseInputIfEmpty()
        #expect(connection.input?.readableCount == 1)
        connection.input?.consume(1)
        connection.releaseInputIfEmpty()
        #expect(connection.input == nil)
    }

    // MARK: Closing from callbacks

    @Test func closingInsideReadableIsSafe() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        defer { close(b) }
        let connection = try Connection(fd: a, loop: loop)
        let recorder = Recorder()
        recorder.onReadable = { [unowned recorder] connection in
            recorder.consumeAll(connection)
            connection.close()
        }
        connection.delegate = recorder
        writeAll(b, [1, 2, 3])
        #expect(loop.run(until: { recorder.readableCalls == 1 }))
        writeAll(b, [4, 5, 6], failureExpected: true)  // the peer may still try to write; nobody listens
        loop.run(for: 0.02)
        #expect(recorder.readableCalls == 1)
        #expect(recorder.received == [1, 2, 3])
        #expect(recorder.closedCount == 0)  // an explicit close is not reported
        #expect(connection.isClosed)
        #expect(connection.input == nil)
        #expect(!connection.send([1]))
        #expect(readExactly(b, count: 1, timeout: 1) == [])  // EOF at the peer
        connection.close()  // twice is harmless
    }

    @Test func closingInsideReadableWithoutConsumingIsSafe() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        defer { close(b) }
        let connection = try Connection(fd: a, loop: loop)
        let recorder = Recorder()
        recorder.onReadable = { $0.close() }
        connection.delegate = recorder
        writeAll(b, [1, 2, 3])
        #expect(loop.run(until: { recorder.readableCalls == 1 }))
        #expect(connection.isClosed)
        #expect(connection.input == nil)
        #expect(loop.buffers.take().isEmpty)
    }

    @Test func closingInsideEstablishedIsSafe() throws {
        let loop = try EventLoop()
        let fd = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        defer { Socket.close(fd) }
        let recorder = Recorder()
        recorder.onEstablished = { connection in
            connection.send([1, 2, 3])
            connection.close()
        }
        let connection = try Connection.connect(host: "127.0.0.1", port: localPort(fd), loop: loop)
        connection.delegate = recorder
        #expect(!connection.send([9]))  // queued before the connect completes
        #expect(loop.run(until: { recorder.established == 1 }))
        loop.run(for: 0.02)
        #expect(connection.isClosed)
        #expect(recorder.drained == 0)
        #expect(recorder.closedCount == 0)
    }

    @Test func closingInsideDrainedIsSafe() throws {
        let loop = try EventLoop()
        let (a, b) = try makeSocketPair()
        defer { close(b) }
        let connection = try Connection(fd: a, loop: loop)
        let recorder = Recorder()
        recorder.onDrained = { $0.close() }
        connection.delegate = recorder
        let data = pattern(count: 1 << 20)
        #expect(!connection.send(data))
        var received: [UInt8] = []
        let reader = ProbeHandler()
        reader.onEvent = { _ in received += readAvailable(b) }
        // Reads the peer on the same loop as a raw handler.
        try loop.register(b, interest: .readable, handler: reader)
        defer { loop.unregister(b) }
        #expect(loop.run(until: { recorder.drained == 1 && received.count == data.count }))
        expectSameBytes(received, data)
        #expect(connection.isClosed)
        #expect(recorder.closedCount == 0)
    }
}
