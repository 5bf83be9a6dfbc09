import PostgresWire
import SluiceCore
import SluiceIO

extension ServerConnection {
    /// Feeds PostgreSQL's login replies to the login machine.
    func continueLogin(_ input: IOBuffer) {
        var result: ServerLogin.Action?
        let outcome = stream.readWhole(input) { type, body in
            guard case .loggingIn(var login) = state else { return .stop }
            let actions = login.receive(type: type, body: body)
            state = .loggingIn(login)
            for action in actions {
                switch action {
                case .send(let bytes):
                    connection?.send(bytes)
                case .failed, .ready:
                    result = action
                    return .dropAndStop
                }
            }
            return .drop
        }
        switch result {
        case .failed(let error):
            fail(error)
        case .ready(let parameters, let key):
            if let connectTimer { worker.loop.cancel(connectTimer) }
            connectTimer = nil
            self.parameters = parameters
            forgetUnreportedSettings()
            backendKey = key
            state = .idle
            if let watcher { watcher.serverReady(self) } else { worker.serverLoggedIn(self) }
        case .send, nil:
            if outcome == .malformed {
                fail(ErrorFields(code: SQLState.protocolViolation, message: "invalid message from server during login"))
            }
        }
    }

    /// Keeps only what PostgreSQL reported: after a reset or a failed SET, values Sluice set
    /// itself for unreported parameters may no longer hold.
    func forgetUnreportedSettings() {
        trackedValues = worker.trackedParameters.values(from: parameters)
    }
}
