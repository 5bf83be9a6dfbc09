import Logging
import SluiceIO

/// A short-lived connection that delivers one CancelRequest to PostgreSQL and closes.
final class CancelForwarder: ConnectionDelegate {
    private var connection: Connection?
    private let logger: Logger
    /// Keeps the forwarder alive until its connection closes (the loop holds connections weakly).
    private var keepAlive: CancelForwarder?

    private init(logger: Logger) { self.logger = logger }

    static func send(_ packet: [UInt8], host: String, port: Int, loop: EventLoop, logger: Logger) {
        let forwarder = CancelForwarder(logger: logger)
        do {
            let connection = try Connection.connect(host: host, port: port, loop: loop)
            connection.delegate = forwarder
            forwarder.connection = connection
            forwarder.keepAlive = forwarder
            connection.send(packet)
        } catch {
            logger.warning("cannot forward cancel request to \(host):\(port): \(error)")
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
    }
}
