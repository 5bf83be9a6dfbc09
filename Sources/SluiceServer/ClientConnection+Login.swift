import PostgresWire
import SluiceCore
import SluiceIO

extension ClientConnection {
    /// Feeds the login machine the startup packet, then each authentication message.
    func continueLogin() {
        while case .loggingIn(var login) = state, let input = connection.input, !input.isEmpty {
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
                    state = .loggingIn(login)
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
                state = .loggingIn(login)
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
            case .reject(let error):
                reject(error)
            case .cancel(let key):
                worker.forwardCancel(key)
                finish(reason: "cancel request", logged: true)
            case .authenticated(let identity):
                self.identity = identity
                if let loginTimer { connection.loop.cancel(loginTimer) }
                loginTimer = nil
                worker.clientAuthenticated(self)
            }
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
