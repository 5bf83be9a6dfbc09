import Glibc
import Testing
@testable import SluiceIO

@Suite struct ListenerTests {
    /// Connects `count` clients before the loop runs, then checks that one wake-up accepts them all:
    /// a zero-delay timer scheduled at the first accept fires after the listener's event is handled.
    private func acceptsABurst(listening fd: Int32, connect: () throws -> Int32, expectedPeer: (Int32) -> String) throws {
        let loop = try EventLoop()
        var accepted: [(fd: Int32, peer: String)] = []
        var acceptedWhenTheTurnEnded: Int?
        var errors: [SocketError] = []
        let listener = try Listener(fd: fd, address: "test", loop: loop, onAccept: { client, peer in
            if accepted.isEmpty {
                loop.schedule(after: 0) { acceptedWhenTheTurnEnded = accepted.count }
            }
            accepted.append((client, peer))
        }, onError: { errors.append($0) })
        defer { listener.close() }

        let count = 5
        var clients: [Int32] = []
        for _ in 0..<count { clients.append(try connect()) }
        defer { for client in clients { close(client) } }

        #expect(loop.run(until: { acceptedWhenTheTurnEnded != nil }))
        #expect(acceptedWhenTheTurnEnded == count)
        #expect(accepted.count == count)
        #expect(errors.isEmpty)
        #expect(accepted.map(\.peer) == clients.map(expectedPeer))
        for (server, _) in accepted {
            // Accepted descriptors are non-blocking and close-on-exec.
            #expect(fcntl(server, F_GETFL) & O_NONBLOCK != 0)
            #expect(fcntl(server, F_GETFD) & FD_CLOEXEC != 0)
        }
        // Each accepted descriptor is really connected to its client, in order.
        for (index, (server, _)) in accepted.enumerated() {
            writeAll(clients[index], [UInt8(index), 42])
            #expect(readExactly(server, count: 2) == [UInt8(index), 42])
            close(server)
        }
    }

    @Test func acceptsSeveralIPv4ConnectionsInOneWakeUp() throws {
        let fd = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        let port = localPort(fd)
        #expect(port > 0)
        try acceptsABurst(listening: fd, connect: { try blockingConnectTCP(host: "127.0.0.1", port: port) },
                          expectedPeer: { "127.0.0.1:\(localPort($0))" })
    }

    @Test(.enabled(if: ipv6LoopbackAvailable(), "no IPv6 loopback"))
    func acceptsSeveralIPv6ConnectionsInOneWakeUp() throws {
        let fd = try Socket.listenTCP(host: "::1", port: 0)
        let port = localPort(fd)
        #expect(port > 0)
        try acceptsABurst(listening: fd, connect: { try blockingConnectTCP(host: "::1", port: port) },
                          expectedPeer: { "[::1]:\(localPort($0))" })
    }

    @Test func acceptsSeveralUnixSocketConnectionsInOneWakeUp() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let path = "\(directory)/.s.PGSQL.6432"
        let fd = try Socket.listenUnix(path: path)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o777)
        try acceptsABurst(listening: fd, connect: { try blockingConnectUnix(path: path) }, expectedPeer: { _ in "unix" })
    }

    @Test func listenUnixReplacesAStaleSocketFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let path = "\(directory)/.s.PGSQL.6432"
        let stale = try Socket.listenUnix(path: path)
        Socket.close(stale)  // the file stays behind, as after a crash
        let fd = try Socket.listenUnix(path: path)
        defer { Socket.close(fd) }
        let client = try blockingConnectUnix(path: path)
        close(client)
    }

    @Test func listenUnixRejectsAPathTooLong() throws {
        let path = "/tmp/" + String(repeating: "x", count: 200)
        #expect(throws: SocketError.self) { try Socket.listenUnix(path: path) }
        do {
            _ = try Socket.listenUnix(path: path)
        } catch let error as SocketError {
            #expect(error.code == ENAMETOOLONG)
        }
    }

    @Test func listeningOnABusyPortFails() throws {
        let fd = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        defer { Socket.close(fd) }
        do {
            let second = try Socket.listenTCP(host: "127.0.0.1", port: localPort(fd))
            Socket.close(second)
            Issue.record("a second listener bound a busy port")
        } catch let error as SocketError {
            #expect(error.code == EADDRINUSE)
        }
    }

    @Test func reusePortAllowsTwoListenersOnOnePort() throws {
        let first = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: true)
        defer { Socket.close(first) }
        let second = try Socket.listenTCP(host: "127.0.0.1", port: localPort(first), reusePort: true)
        defer { Socket.close(second) }
        #expect(localPort(second) == localPort(first))
    }

    @Test func acceptWithNothingPendingReturnsNil() throws {
        let fd = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        defer { Socket.close(fd) }
        #expect(try Socket.accept(fd) == nil)
    }

    @Test func closedListenerRefusesConnections() throws {
        let loop = try EventLoop()
        let fd = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        let port = localPort(fd)
        let listener = try Listener(fd: fd, address: "test", loop: loop, onAccept: { client, _ in close(client) }, onError: { _ in })
        listener.close()
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let code = errno
        #expect(result == -1)
        #expect(code == ECONNREFUSED)
    }
}
