import Glibc
import Testing
@testable import SluiceIO

/// `closeGracefully`: the peer reads the last message and then end of file, even when it had
/// sent bytes the connection never read (where a plain close makes the kernel reset the
/// connection, and the reset can destroy the message before the peer reads it).
@Suite struct GracefulCloseTests {
    /// A TCP connection over loopback: the Sluice side on `loop`, and the peer's blocking socket.
    private func pair(_ loop: EventLoop) throws -> (Connection, Int32) {
        let listener = try Socket.listenTCP(host: "127.0.0.1", port: 0)
        defer { Socket.close(listener) }
        let peer = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(localPort(listener)).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(peer, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0, "connect: errno \(errno)")
        setBlocking(listener)
        let accepted = accept(listener, nil, nil)
        try #require(accepted >= 0)
        setNonBlocking(accepted)
        return (try Connection(fd: accepted, loop: loop), peer)
    }

    /// The peer sends 64 KiB nobody reads; Sluice's side says goodbye and closes. Returns what
    /// the peer then reads, and how its last read ended (0: end of file, else errno).
    private func farewell(graceful: Bool) throws -> (received: [UInt8], end: Int32) {
        let loop = try EventLoop()
        let (connection, peer) = try pair(loop)
        defer { close(peer) }
        let unread = [UInt8](repeating: 7, count: 65_536)
        #expect(write(peer, unread, unread.count) == unread.count)
        let goodbye = Array("FATAL: goodbye".utf8)
        connection.send(goodbye)
        if graceful { connection.closeGracefully(within: 2) } else { connection.close() }
        loop.run(for: 0.1)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(peer, &buffer, buffer.count)
            if count <= 0 { return (received, count == 0 ? 0 : errno) }
            received += buffer[0..<count]
        }
    }

    @Test func thePeerReadsTheLastMessageThenEndOfFile() throws {
        let (received, end) = try farewell(graceful: true)
        #expect(received == Array("FATAL: goodbye".utf8))
        #expect(end == 0, "end of file, not a reset (errno \(end))")
    }

    /// What a plain close does in the same situation: the kernel resets the connection.
    @Test func aPlainCloseResetsTheConnection() throws {
        let (_, end) = try farewell(graceful: false)
        #expect(end == ECONNRESET)
    }

    @Test func theConnectionClosesOnceThePeerDoes() throws {
        let loop = try EventLoop()
        let (connection, peer) = try pair(loop)
        connection.send(Array("bye".utf8))
        connection.closeGracefully(within: 5)
        #expect(!connection.isClosed)
        close(peer)
        #expect(loop.run(timeout: 2, until: { connection.isClosed }), "closed when the peer closed, before the 5 s wait")
    }

    @Test func aPeerThatNeverClosesIsLetGoAfterTheWait() throws {
        let loop = try EventLoop()
        let (connection, peer) = try pair(loop)
        defer { close(peer) }
        connection.closeGracefully(within: 0.2)
        #expect(loop.run(timeout: 2, until: { connection.isClosed }))
    }
}
