import PostgresWire
import SluiceAuth
import SluiceCore
import SluiceIO

extension ClientConnection {
    /// Feeds the login machine the startup packet, then each authentication message.
    func continueLogin() {
        if case .loggingIn = state, var login, let tlsSession, tlsSession.isEstablished, !login.isSecure {
            // PostgreSQL 17's direct TLS names the protocol with ALPN, as PostgreSQL requires.
            if startedTLSDirectly && tlsSession.negotiatedProtocol != "postgresql" {
                reject(ErrorFields(code: SQLState.protocolViolation, message: "direct TLS without ALPN protocol \"postgresql\""))
                return
            }
            login.tlsEstablished(serverEndPoint: tlsSession.serverEndPoint,
                                 verifiedCertificateName: tlsSession.peerCertificateVerified ? tlsSession.peerCommonName : nil)
            self.login = login
        }
        while case .loggingIn = state, var login, let input = connection.input, !input.isEmpty {
            if login.expectsStartupPacket && !login.isSecure && input.byte(at: 0) == Self.tlsHandshakeRecord {
                startTLS(directly: true)
                return
            }
            if login.expectsStartupPacket {
                let available = input.copyBytes(at: 0, count: min(input.readableCount, StartupPacket.maximumLength))
                switch StartupPacket.decode(available) {
                case .needMoreBytes:
                    return
                case .invalid(let reason):
                    let code = reason.hasPrefix("unsupported frontend protocol") ? SQLState.featureNotSupported : SQLState.protocolViolation
                    reject(ErrorFields(code: code, message: reason))
                    return
                case .packet(let packet, let consumed):
                    input.consume(consumed)
                    if case .startup = packet, let refusal = worker.admissionRefusal() {
                        reject(refusal)
                        return
                    }
                    let actions = login.receive(packet)
                    self.login = login
                    perform(actions)
                }
            } else {
                var actions: [ClientLogin.Action] = []
                let outcome = stream.readWhole(input) { type, body in
                    actions = login.receive(type: type, body: body)
                    return .dropAndStop
                }
                if outcome == .malformed {
                    reject(ErrorFields(code: SQLState.protocolViolation, message: "invalid message during authentication"))
                    return
                }
                guard outcome == .stopped else { return }
                self.login = login
                perform(actions)
            }
        }
    }

    /// Runs the login machine's actions. What they send (SASL final, AuthenticationOk, the
    /// welcome) is gathered and written once at the end: one system call instead of three.
    private func perform(_ actions: [ClientLogin.Action]) {
        loginOutput = []
        defer { flushLoginOutput() }
        for action in actions {
            guard !state.isClosed else { return }
            switch action {
            case .send(let bytes):
                loginOutput? += bytes
            case .startTLS:
                flushLoginOutput()
                // Bytes after an SSLRequest, before the answer, would be taken as encrypted:
                // refused, as PostgreSQL refuses them (CVE-2021-23214).
                guard connection.input?.isEmpty ?? true else {
                    reject(ErrorFields(code: SQLState.protocolViolation, message: "received unencrypted data after SSL request"))
                    return
                }
                connection.send([UInt8(ascii: "S")])
                startTLS(directly: false)
            case .reject(let error) where Self.isAuthenticationFailure(error) && worker.configuration.settings.authFailureDelay > 0:
                // The answer waits (a timer, no work), so guessing passwords is slow; unknown
                // users and wrong passwords wait the same.
                if let loginTimer { connection.loop.cancel(loginTimer) }
                loginTimer = nil
                worker.loginFailures += 1
                connection.pauseReading()
                connection.loop.schedule(after: worker.configuration.settings.authFailureDelay) { [weak self] in self?.reject(error) }
            case .reject(let error):
                if Self.isAuthenticationFailure(error) { worker.loginFailures += 1 }
                reject(error)
            case .cancel(let key):
                worker.forwardCancel(key)
                finish(reason: "cancel request", logged: true)
            case .authenticated(let identity):
                self.identity = identity
                login = nil
                if let loginTimer { connection.loop.cancel(loginTimer) }
                loginTimer = nil
                worker.clientAuthenticated(self)
            }
        }
    }

    static func isAuthenticationFailure(_ error: ErrorFields) -> Bool {
        error.code == SQLState.invalidPassword || error.code == SQLState.invalidAuthorization
    }

    /// A TLS record's first byte: a client starting TLS without an SSLRequest.
    static let tlsHandshakeRecord: UInt8 = 0x16

    /// Starts the TLS handshake, after `S` answered an SSLRequest or, `directly`, on the
    /// ClientHello already read.
    private func startTLS(directly: Bool) {
        guard let context = worker.tls.client else {
            reject(ErrorFields(code: SQLState.protocolViolation, message: "TLS is not enabled (client_tls_sslmode = disable)"))
            return
        }
        do {
            let session = try TLSSession(context: context)
            tlsSession = session
            startedTLSDirectly = directly
            connection.secure(with: session, replayingInput: directly)
        } catch {
            reject(ErrorFields(code: SQLState.internalError, message: "cannot start TLS: \(error)"))
        }
    }

    /// The last step of login, once a server is linked: the server's parameters as the client
    /// will see them, the client's cancel key, and the first ReadyForQuery.
    func sendWelcome(parameters: [StartupParameter]) {
        var bytes: [UInt8] = []
        for parameter in parameters {
            bytes += BackendMessage.parameterStatus(name: parameter.name, value: parameter.value)
        }
        bytes += BackendMessage.backendKeyData(cancelKey)
        bytes += BackendMessage.readyForQuery(.idle)
        if loginOutput != nil {
            loginOutput? += bytes
        } else {
            connection.send(bytes)
        }
        welcomed = true
        if worker.configuration.settings.logConnections {
            logger.info("\(label) login complete")
        }
    }

    /// Writes what login actions gathered; called before anything else reaches the client.
    func flushLoginOutput() {
        if let bytes = loginOutput, !bytes.isEmpty { connection.send(bytes) }
        loginOutput = nil
    }
}
