import PostgresWire
import SluiceCore
import SluiceIO

/// The admin console: a client of the `pgbouncer` (or `sluice`) database talks to Sluice
/// itself, over the simple query protocol, as PgBouncer's console does.
extension ClientConnection {
    /// The names of the console's database.

    /// Runs the console commands in the input, one Query at a time; a command whose answer
    /// needs every worker holds the rest until it is sent.
    func runAdminCommands() {
        guard case .admin(let mayChange) = state, !adminCommandRunning, let input = connection.input else { return }
        var pending: (UInt8, [UInt8])?
        let outcome = stream.readWhole(input) { type, body in
            pending = (type, body)
            return .dropAndStop
        }
        if outcome == .malformed {
            reject(ErrorFields(code: SQLState.protocolViolation, message: "invalid message from client"))
            return
        }
        guard let (type, body) = pending else { return }
        switch type {
        case FrontendMessageType.query:
            let text = FrontendMessage.decodeQuery(body) ?? ""
            adminCommandRunning = true
            worker.runAdminCommand(text, mayChange: mayChange, for: self) { [weak self] answer in
                guard let self, !state.isClosed else { return }
                connection.send(answer + BackendMessage.readyForQuery(.idle))
                adminCommandRunning = false
                if let input = connection.input, !input.isEmpty { runAdminCommands() }
            }
        case FrontendMessageType.terminate:
            finish(reason: "client close request")
        default:
            reject(ErrorFields(code: SQLState.protocolViolation, message: "the admin console speaks only the simple query protocol"))
        }
    }
}
