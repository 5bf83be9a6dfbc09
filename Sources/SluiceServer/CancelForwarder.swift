import Logging
import SluiceIO

/// A short-lived connection that delivers one CancelRequest to PostgreSQL and closes.
final class CancelForwarder: ConnectionDelegate {
    private var connection: Connection?
    private let finished: () -> Void
    /// Keeps the forwarder alive until its connection closes (the loop holds connections weakly).
    private var keepAlive: CancelForwarder?

    private init(finished: @escaping () -> Void) { self.finished = finished }

    /// Sends `packet` to `address` (the one the server's connection went to; nil for a Unix
    /// socket, then `host` is its directory); `finished` runs once PostgreSQL has closed the
    /// connection, which it does after signalling the backend, or at once if the connection
    /// cannot be made.
    static func send(_ packet: [UInt8], to address: ResolvedAddress?, host: String, port: Int, loop: EventLoop, logger: Logger,
                     finished: @escaping () -> Void) {
        let forwarder = CancelForwarder(finished: finished)
        do {
            let connection = try address.map { try Connection.connect(to: [$0], loop: loop).0 }
                ?? Connection.connect(host: host, port: port, loop: loop)
            connection.delegate = forwarder
            forwarder.connection = connection
            forwarder.keepAlive = forwarder
            connection.send(packet)
        } catch {
            logger.warning("cannot forward cancel request to \(host):\(port): \(error)")
            finished()
        }
    }

    func connectionEstablished(_ connection: Connection) {}
    func connectionDrained(_ connection: Connection) {}

    /// PostgreSQL answers a CancelRequest by closing; anything else is ignored.
    func connectionReadable(_ connection: Connection) {
        if let input = connection.input { input.consume(input.readableCount) }
    }

    func connectionClosed(_ connection: Connection, reason: ConnectionCloseReason) {
        keepAlive = nil
        finished()
    }
}
