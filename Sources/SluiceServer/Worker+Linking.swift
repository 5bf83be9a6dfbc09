import PostgresWire
import SluiceConfig
import SluiceCore
import SluiceIO

extension Worker {
    /// Hands `server` to `client`: checks a server that sat idle past server_check_delay, brings
    /// its session settings to the client's, sends the welcome if the client has not had it,
    /// then carries traffic both ways.
    func link(_ client: ClientConnection, to server: ServerConnection) {
        let now = MonotonicClock.now()
        if case .waiting = client.state { client.counters?.waited(seconds: now - client.stateSince) }
        client.state = .linked(server)
        server.state = .linked(client)
        server.staleRetry.restart()
        // Two fields, not a copy of the whole settings, on every checkout.
        let checkQuery = configuration.settings.serverCheckQuery
        guard !checkQuery.isEmpty, now - server.idleSince > configuration.settings.serverCheckDelay else {
            applySettings(client, server)
            return
        }
        prepare(server, for: client, running: checkQuery) { [unowned self] error in
            guard error == nil else {
                logger.warning("\(server.label) failed server_check_query: \(error?.message ?? "")")
                pools { $0.release(server.id, reusable: false, loop: index) }
                requestServer(for: client)
                return
            }
            applySettings(client, server)
        }
    }

    private func applySettings(_ client: ClientConnection, _ server: ServerConnection) {
        let statements = parameterStatements(client: client, server: server)
        guard !statements.isEmpty else {
            startTraffic(client, server)
            return
        }
        prepare(server, for: client, running: statements.joined(separator: "; ")) { [unowned self] error in
            if let error {
                server.forgetUnreportedSettings()
                client.reject(error)
            } else {
                startTraffic(client, server)
            }
        }
    }

    /// Runs one of Sluice's own queries on a server just linked to a client. `then` runs only if
    /// both are still there; a server that broke meanwhile is replaced, since the client has sent
    /// it nothing yet, and a client that left gives its server back.
    private func prepare(_ server: ServerConnection, for client: ClientConnection, running sql: String,
                         then: @escaping (ErrorFields?) -> Void) {
        let clientID = client.id
        server.runInternal(sql) { [unowned self, unowned server] error in
            guard let client = clients[clientID], case .linked(let linked) = client.state, linked === server else {
                releaseServer(server, reset: false)
                return
            }
            guard !server.state.isClosed else {
                requestServer(for: client)
                return
            }
            server.state = .linked(client)
            then(error)
        }
    }

    /// `SET` statements for every tracked setting whose value on the server differs from what
    /// the client should see: its startup value, else the pool's default. A setting PostgreSQL
    /// does not report (search_path before PostgreSQL 18) has no known default: one Sluice set
    /// for an earlier client is `RESET` for a client that did not ask for it.
    /// (Runs at every checkout: the names are looked at only where the values differ.)
    private func parameterStatements(client: ClientConnection, server: ServerConnection) -> [String] {
        guard !Self.settingsMatch(wanted: client.wantedValues, defaults: server.defaultValues, on: server.trackedValues) else { return [] }
        var statements: [String] = []
        for index in client.wantedValues.indices {
            let name = sqlIdentifier(trackedParameters.names[index])
            if let target = client.wantedValues[index] ?? server.defaultValues[index] {
                guard server.trackedValues[index] != target else { continue }
                statements.append("SET \(name) = \(sqlLiteral(target))")
                server.trackedValues[index] = target
            } else if server.trackedValues[index] != nil {
                statements.append("RESET \(name)")
                server.trackedValues[index] = nil
            }
        }
        return statements
    }

    /// True when the server already has every value the client should see: the usual case,
    /// checked in place, without copying (so retaining) a single value.
    private static func settingsMatch(wanted: [String?], defaults: [String?], on tracked: [String?]) -> Bool {
        for index in wanted.indices {
            if wanted[index] != nil {
                if wanted[index] != tracked[index] { return false }
            } else if defaults[index] != tracked[index] {
                return false
            }
        }
        return true
    }

    private func startTraffic(_ client: ClientConnection, _ server: ServerConnection) {
        if !client.welcomed {
            client.sendWelcome(parameters: server.parameters)
        }
        client.connection.resumeReading()
        if let input = client.connection.input, !input.isEmpty {
            client.forwardToServer(server)
        }
        transactionMayHaveEnded(client, server)
    }

    /// After a ReadyForQuery reached the client. In statement mode a transaction block is an
    /// error; in transaction and statement mode a server that has answered everything and sits
    /// outside a transaction goes back to the pool, and the client holds none until it sends more.
    func readyForQuery(_ client: ClientConnection, _ server: ServerConnection) {
        guard case .linked(let linked) = client.state, linked === server else { return }
        if client.poolMode == .statement && server.transactionStatus != .idle {
            client.reject(ErrorFields(code: SQLState.featureNotSupported, message: "transaction blocks not allowed in statement pooling mode"))
            return
        }
        if shutdownMode == .waitForServers && !client.isInTransaction {
            client.reject(Self.shutdownError)
            return
        }
        transactionMayHaveEnded(client, server)
    }

    func transactionMayHaveEnded(_ client: ClientConnection, _ server: ServerConnection) {
        guard client.poolMode != .session, case .linked(let linked) = client.state, linked === server,
              server.isClean, server.cancelsInFlight == 0, !client.isMidMessage else { return }
        let now = MonotonicClock.now()
        client.state = .idle
        client.stateSince = now
        server.unlink()
        server.idleSince = now
        if !finishSplitTransaction(client, server) {
            pools { $0.release(server.id, reusable: !server.closeNeeded, loop: index) }
        }
        guard case .idle = client.state else { return }
        client.connection.resumeReading()
        if let input = client.connection.input, !input.isEmpty {
            client.connectionReadable(client.connection)
        }
    }

    /// Takes a server back from a client that left: reset it and return it to the pool if it
    /// finished its work cleanly, close it otherwise.
    /// `halfSentMessage`: the client left in the middle of a message, which the server still
    /// waits to complete; such a server is never reused.
    func releaseServer(_ server: ServerConnection, reset: Bool, halfSentMessage: Bool = false) {
        guard !server.state.isClosed else { return }
        guard server.isClean && !halfSentMessage && server.cancelsInFlight == 0 else {
            logger.info("\(server.label) closed: client left while it was busy")
            pools { $0.release(server.id, reusable: false, loop: index) }
            return
        }
        let resetQuery = configuration.settings.serverResetQuery
        server.idleSince = MonotonicClock.now()
        guard reset, !resetQuery.isEmpty else {
            pools { $0.release(server.id, reusable: !server.closeNeeded, loop: index) }
            return
        }
        server.runInternal(resetQuery) { [unowned self, unowned server] error in
            guard !server.state.isClosed else { return }
            server.forgetUnreportedSettings()
            if let error { logger.warning("\(server.label) server_reset_query failed: \(error.message)") }
            pools { $0.release(server.id, reusable: error == nil && server.transactionStatus == .idle && !server.closeNeeded, loop: index) }
        }
    }

    /// Forwards a CancelRequest to the server now running the client that holds `key`, on
    /// whichever worker that client lives.
    func forwardCancel(_ key: BackendKey) {
        guard let clientID = pooler.shared.withLock({ $0.clientsByCancelKey[key] }) else { return }
        onWorker(clientID.loop) { worker in
            guard let client = worker.clients[clientID], case .linked(let server) = client.state else { return }
            worker.cancelQuery(on: server)
        }
    }

    /// Cancels what `server` runs. Until PostgreSQL has taken the request the server stays with
    /// its client even if the query ends first, so the cancel can never hit the next client's query.
    func cancelQuery(on server: ServerConnection) {
        server.cancelsInFlight += 1
        // The server stays on this worker while a cancel is in flight (it is not released).
        let serverID = server.id
        CancelForwarder.send(StartupPacket.cancelRequest(server.backendKey), to: server.remote, host: server.host, port: server.port,
                             loop: loop, logger: logger) { [unowned self] in
            guard let server = servers[serverID] else { return }
            server.cancelsInFlight -= 1
            if case .linked(let client) = server.state { transactionMayHaveEnded(client, server) }
        }
    }
}

extension ServerConnection {
    /// The linked client is gone.
    func clientLeft() {
        guard case .linked(let client) = state else { return }
        unlink()
        let settings = worker.configuration.settings
        worker.releaseServer(self, reset: client.poolMode == .session || settings.serverResetQueryAlways,
                             halfSentMessage: client.isMidMessage)
    }
}
