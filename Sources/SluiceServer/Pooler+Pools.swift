import PostgresWire
import SluiceAuth
import SluiceConfig
import SluiceCore
import SluiceIO

extension Pooler {
    /// A client proved who it is: find its database and pool, and ask for a server.
    func clientAuthenticated(_ client: ClientConnection) {
        guard let identity = client.identity else { return }
        guard let entry = configuration.database(named: identity.database) else {
            client.reject(ErrorFields(code: SQLState.invalidCatalogName, message: "database \"\(identity.database)\" does not exist"))
            return
        }
        if let clientKey = identity.scramClientKey { passThroughKeys[identity.user] = clientKey }
        let key = PoolKey(database: identity.database, user: entry.user ?? identity.user)
        client.poolKey = key
        client.poolMode = configuration.poolMode(database: entry, user: identity.user)
        client.wantedValues = trackedParameters.values(from: identity.parameters)
        if configuration.settings.logConnections {
            logger.info("\(client.label) login attempt: pool \(key)")
        }
        perform(pools.configure(key, limits: limits(for: entry, user: key.user)))
        guard let defaults = poolDefaults[key] else {
            // The pool has never had a server: the welcome waits for the first one's parameters.
            requestServer(for: client)
            return
        }
        client.sendWelcome(parameters: welcomeParameters(defaults: defaults, client: identity.parameters))
        client.state = .idle
        client.stateSince = MonotonicClock.now()
        // A client that did not wait for ReadyForQuery before sending its first query.
        if let input = client.connection.input, !input.isEmpty {
            client.connectionReadable(client.connection)
        }
    }

    /// What a client is told at login: the pool's server parameters, with the values the client
    /// asked for in its startup packet in place of the defaults (Sluice sets them on the server
    /// before the client's first query runs there).
    private func welcomeParameters(defaults: [StartupParameter], client: [StartupParameter]) -> [StartupParameter] {
        var parameters = defaults
        for parameter in client where defaults.value(of: parameter.name) != nil {
            parameters.record(parameter)
        }
        return parameters
    }

    func limits(for entry: DatabaseEntry, user: String) -> PoolLimits {
        PoolLimits(
            poolSize: configuration.poolSize(for: entry),
            maxDatabaseConnections: configuration.maxDBConnections(for: entry),
            maxUserConnections: configuration.maxUserConnections(for: user),
            minimumSize: configuration.minPoolSize(for: entry),
            reserveSize: configuration.reservePoolSize(for: entry)
        )
    }

    func requestServer(for client: ClientConnection) {
        guard let key = client.poolKey else { return }
        client.state = .waiting(key)
        client.stateSince = MonotonicClock.now()
        perform(pools.request(client.id, from: key))
    }

    func withdraw(_ client: ClientConnection, from key: PoolKey) {
        pools.withdraw(client.id, from: key)
    }

    func perform(_ actions: [PoolManager.Action]) {
        for action in actions {
            switch action {
            case .assign(let serverID, let clientID):
                guard let server = servers[serverID] else { continue }
                guard let client = clients[clientID], case .waiting = client.state else {
                    perform(pools.release(serverID, reusable: server.isIdle))
                    continue
                }
                link(client, to: server)
            case .open(let key):
                openServer(for: key)
            case .close(let serverID):
                servers.removeValue(forKey: serverID)?.close()
            }
        }
    }

    private func openServer(for key: PoolKey) {
        let server: ServerConnection
        guard let entry = configuration.database(named: key.database) else {
            abandonWaiters(of: key, error: ErrorFields(code: SQLState.invalidCatalogName, message: "database \"\(key.database)\" does not exist"))
            return
        }
        server = ServerConnection(id: newServerID(), poolKey: key, host: entry.host ?? "/tmp", port: entry.port, pooler: self)
        servers[server.id] = server
        var extra: [StartupParameter] = []
        if let value = entry.clientEncoding { extra.append(StartupParameter(name: "client_encoding", value: value)) }
        if let value = entry.dateStyle { extra.append(StartupParameter(name: "DateStyle", value: value)) }
        if let value = entry.timeZone { extra.append(StartupParameter(name: "TimeZone", value: value)) }
        let login = ServerLogin(user: key.user, credential: credential(for: entry, user: key.user), nonce: Crypto.randomBytes(18))
        do {
            try server.open(
                login: login,
                startupMessage: ServerLogin.startupMessage(user: key.user, database: entry.serverDatabaseName, extra: extra),
                timeout: configuration.settings.serverConnectTimeout
            )
            logger.debug("\(server.label) connecting")
        } catch {
            server.fail(ErrorFields(code: SQLState.connectionFailure, message: "server connection failed: \(error)"))
        }
    }

    /// How to log in as `user`: the database entry's password, else the userlist's secret, else
    /// the ClientKey of the user's last SCRAM login when the userlist holds only a verifier.
    private func credential(for entry: DatabaseEntry, user: String) -> ServerCredential {
        if let password = entry.password { return .password(password) }
        switch configuration.userSecrets[user] {
        case .plaintext(let password): return .password(password)
        case .md5(let hash): return .md5Hash(hash)
        case .scramSHA256(let verifier):
            guard let clientKey = passThroughKeys[user] else { return .none }
            return .scramKeys(clientKey: clientKey, serverKey: verifier.serverKey)
        case nil: return .none
        }
    }

    func serverLoggedIn(_ server: ServerConnection) {
        if poolDefaults[server.poolKey] == nil { poolDefaults[server.poolKey] = server.parameters }
        server.defaultValues = trackedParameters.values(from: poolDefaults[server.poolKey] ?? [])
        logger.debug("\(server.label) logged in")
        guard let query = configuration.database(named: server.poolKey.database)?.connectQuery, !query.isEmpty else {
            perform(pools.opened(server.id, in: server.poolKey))
            return
        }
        server.runInternal(query) { [unowned self, unowned server] error in
            guard !server.state.isClosed else { return }
            if let error {
                logger.warning("\(server.label) connect_query failed: \(error.message)")
            }
            perform(pools.opened(server.id, in: server.poolKey))
        }
    }

    func serverOpenFailed(_ server: ServerConnection, error: ErrorFields) {
        servers[server.id] = nil
        logger.warning("\(server.label) login failed: \(error.message)")
        let (actions, abandoned) = pools.openFailed(in: server.poolKey)
        for clientID in abandoned {
            clients[clientID]?.reject(error)
        }
        if abandoned.isEmpty && !actions.isEmpty {
            loop.schedule(after: configuration.settings.serverLoginRetry) { [weak self] in self?.perform(actions) }
        } else {
            perform(actions)
        }
    }

    func serverRemoved(_ server: ServerConnection) {
        servers[server.id] = nil
        perform(pools.remove(server.id))
    }

    private func abandonWaiters(of key: PoolKey, error: ErrorFields) {
        let (_, abandoned) = pools.openFailed(in: key)
        for clientID in abandoned { clients[clientID]?.reject(error) }
    }
}
