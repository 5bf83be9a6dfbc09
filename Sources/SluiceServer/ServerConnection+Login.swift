import PostgresWire
import SluiceAuth
import SluiceCore
import SluiceIO

extension ServerConnection {
    /// PostgreSQL's one-byte answer to the SSLRequest: `S` starts TLS, `N` means plaintext,
    /// which server_tls_sslmode require and the verify modes refuse.
    func answerToSSLRequest(_ input: IOBuffer, _ login: ServerLogin, _ startup: [UInt8]) {
        let answer = input.byte(at: 0)
        let tls = worker.tls
        switch answer {
        case UInt8(ascii: "S"):
            // Bytes after the `S` would be taken for encrypted ones: refused (CVE-2021-23222).
            guard input.readableCount == 1, let context = tls.server else {
                fail(ErrorFields(code: SQLState.protocolViolation, message: "received unencrypted data after SSL response"))
                return
            }
            input.consume(1)
            do {
                let session = try TLSSession(context: context, serverName: host, verifyHostName: tls.serverVerifiesHostName)
                try session.start()
                state = .securing(login, startup: startup)
                connection?.secure(with: session)
            } catch {
                fail(ErrorFields(code: SQLState.connectionFailure, message: "server connection failed: TLS: \(error)"))
            }
        case UInt8(ascii: "N") where !tls.serverRequiresTLS:
            input.consume(1)
            state = .loggingIn(login)
            connection?.send(startup)
        case UInt8(ascii: "N"):
            fail(ErrorFields(code: SQLState.connectionFailure,
                             message: "server does not accept TLS, which server_tls_sslmode = \(tls.serverMode) requires"))
        default:
            fail(ErrorFields(code: SQLState.protocolViolation, message: "invalid answer to SSLRequest"))
        }
    }

    /// The TLS handshake moved on; once it is done, the startup packet goes out encrypted.
    func handshakeProgressed(_ login: ServerLogin, _ startup: [UInt8]) {
        guard let connection, connection.security?.isEstablished == true else { return }
        state = .loggingIn(login)
        connection.send(startup)
    }

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
