import PostgresWire
import SluiceAuth
import SluiceConfig
import SluiceCore
import SluiceIO

extension Worker {
    /// A client proved who it is: find its database and pool, and ask for a server.
    func clientAuthenticated(_ client: ClientConnection) {
        guard let identity = client.identity else { return }
        if AdminConsole.databases.contains(identity.database) && configuration.databases[identity.database] == nil {
            adminLogin(client, user: identity.user, isOwner: identity.isConsoleOwner)
            return
        }
        guard !identity.isConsoleOwner else {
            // Let in without a password for the console only, and here a database has its name.
            client.reject(ErrorFields(code: SQLState.invalidAuthorization, message: "password authentication failed for user \"\(identity.user)\""))
            return
        }
        guard let entry = configuration.database(named: identity.database) else {
            client.reject(ErrorFields(code: SQLState.invalidCatalogName, message: "database \"\(identity.database)\" does not exist"))
            return
        }
        // entry.name: a replica alias shares its database's pools.
        let key = PoolKey(database: entry.name, user: entry.user ?? identity.user)
        client.poolKey = key
        client.counters = trafficCounters(for: key.database)
        client.counters?.logins += 1
        client.poolMode = configuration.poolMode(database: entry, user: identity.user)
        client.mapsStatements = client.poolMode != .session && configuration.settings.maxPreparedStatements > 0
        client.mapsSQLStatements = client.mapsStatements && configuration.settings.sqlPreparedStatements
        client.wantedValues = trackedParameters.values(from: identity.parameters)
        if configuration.settings.logConnections {
            logger.info("\(client.label) login attempt: pool \(key)")
        }
        let limits = limits(for: entry, user: key.user)
        let admitted: (actions: [PoolManager.Action], poolDefaults: [StartupParameter]?)? = pooler.shared.withLock { shared in
            if shared.disabledDatabases.contains(entry.name) { return nil }
            if let clientKey = identity.scramClientKey { shared.passThroughKeys[identity.user] = clientKey }
            return (shared.pools.configure(key, limits: limits), shared.poolDefaults[key])
        }
        guard let (actions, poolDefaults) = admitted else {
            client.reject(ErrorFields(code: SQLState.objectNotInPrerequisiteState,
                                      message: "database \"\(identity.database)\" is not accepting connections (DISABLE from the admin console)"))
            return
        }
        perform(actions)
        if entry.splitsReadsAndWrites && client.poolMode != .session {
            setUpSplit(client, entry: entry, key: key, limits: limits)
        }
        guard let defaults = poolDefaults else {
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

    /// This worker's counters of `database`, made on first use.
    func trafficCounters(for database: String) -> TrafficCounters {
        if let counters = traffic[database] { return counters }
        let counters = TrafficCounters()
        traffic[database] = counters
        return counters
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

    /// Asks for a server of the client's pool, on the host its transaction was routed to.
    func requestServer(for client: ClientConnection) {
        guard let primaryKey = client.poolKey else { return }
        let key = primaryKey.onHost(client.split?.host ?? 0)
        client.state = .waiting(key)
        client.stateSince = MonotonicClock.now()
        pools { $0.request(client.id, from: key, loop: index) }
    }

    func withdraw(_ client: ClientConnection, from key: PoolKey) {
        pooler.shared.withLock { $0.pools.withdraw(client.id, from: key) }
    }

    /// Runs the pools' decisions. One that names a server on another worker is posted there.
    func perform(_ actions: [PoolManager.Action]) {
        for action in actions {
            switch action {
            case .assign(let serverID, let clientID, let loop):
                // The usual case, handled here without building a closure to post.
                guard loop != index else {
                    handOver(serverID, to: clientID)
                    continue
                }
                onWorker(loop) { $0.handOver(serverID, to: clientID) }
            case .open(let key):
                openServer(for: key)
            case .close(let serverID, let loop):
                onWorker(loop) { $0.servers.removeValue(forKey: serverID)?.close() }
            }
        }
    }

    private func openServer(for key: PoolKey) {
        guard let entry = configuration.database(named: key.database) else {
            abandonWaiters(of: key, error: ErrorFields(code: SQLState.invalidCatalogName, message: "database \"\(key.database)\" does not exist"))
            return
        }
        let address = entry.address(ofHost: key.host)
        let server = ServerConnection(id: newServerID(), poolKey: key, host: address.host ?? "/tmp", port: address.port, worker: self)
        servers[server.id] = server
        logIn(server, to: entry)
    }

    /// Connects `server` and starts its login as its pool's user.
    func logIn(_ server: ServerConnection, to entry: DatabaseEntry) {
        let key = server.poolKey
        var extra: [StartupParameter] = []
        if let value = entry.clientEncoding { extra.append(StartupParameter(name: "client_encoding", value: value)) }
        if let value = entry.dateStyle { extra.append(StartupParameter(name: "DateStyle", value: value)) }
        if let value = entry.timeZone { extra.append(StartupParameter(name: "TimeZone", value: value)) }
        let login = ServerLogin(user: key.user, credential: credential(for: entry, user: key.user), nonce: Crypto.randomBytes(18),
                                allowedMethods: configuration.settings.serverAuthMethods)
        logger.debug("\(server.label) connecting")
        server.open(
            login: login,
            startupMessage: ServerLogin.startupMessage(user: key.user, database: entry.serverDatabaseName, extra: extra),
            timeout: configuration.settings.serverConnectTimeout
        )
    }

    /// How to log in as `user`: the database entry's password, else the userlist's secret, else
    /// the ClientKey of the user's last SCRAM login when the userlist holds only a verifier.
    private func credential(for entry: DatabaseEntry, user: String) -> ServerCredential {
        if let password = entry.password { return .password(password) }
        switch configuration.userSecrets[user] {
        case .plaintext(let password): return .password(password)
        case .md5(let hash): return .md5Hash(hash)
        case .scramSHA256(let verifier):
            guard let clientKey = pooler.shared.withLock({ $0.passThroughKeys[user] }) else { return .none }
            return .scramKeys(clientKey: clientKey, serverKey: verifier.serverKey)
        case nil: return .none
        }
    }

    func serverLoggedIn(_ server: ServerConnection) {
        let defaults = pooler.shared.withLock { shared in
            if shared.poolDefaults[server.poolKey] == nil { shared.poolDefaults[server.poolKey] = server.parameters }
            return shared.poolDefaults[server.poolKey] ?? []
        }
        server.defaultValues = trackedParameters.values(from: defaults)
        logger.debug("\(server.label) logged in")
        loginBackoff.succeeded(server.poolKey)
        guard let query = configuration.database(named: server.poolKey.database)?.connectQuery, !query.isEmpty else {
            pools { $0.opened(server.id, in: server.poolKey, loop: index) }
            return
        }
        server.runInternal(query) { [unowned self, unowned server] error in
            guard !server.state.isClosed else { return }
            if let error {
                logger.warning("\(server.label) connect_query failed: \(error.message)")
            }
            pools { $0.opened(server.id, in: server.poolKey, loop: index) }
        }
    }

    /// A server failed to open. The primary's pool tries again after `loginBackoff`'s wait:
    /// soon, with its clients still waiting, when PostgreSQL is only down for the moment;
    /// after server_login_retry, with the waiting clients told why, otherwise.
    func serverOpenFailed(_ server: ServerConnection, error: ErrorFields, unreachable: Bool) {
        servers[server.id] = nil
        logger.warning("\(server.label) login failed: \(error.message)")
        let key = server.poolKey
        if key.host > 0 {
            let (actions, abandoned) = pooler.shared.withLock { $0.pools.openFailed(in: key) }
            replicaUnreachable(key, abandoned: abandoned)
            perform(actions)
            return
        }
        let transient = LoginBackoff.isTransient(error, unreachable: unreachable)
        let delay = loginBackoff.failed(key, error: error, unreachable: unreachable, cap: configuration.settings.serverLoginRetry)
        let (actions, abandoned) = pooler.shared.withLock { $0.pools.openFailed(in: key, keepingWaiters: transient) }
        reject(abandoned, error)
        if abandoned.isEmpty && !actions.isEmpty {
            loop.schedule(after: delay) { [unowned self] in self.perform(actions) }
        } else {
            perform(actions)
        }
    }

    func serverRemoved(_ server: ServerConnection) {
        servers[server.id] = nil
        pools { $0.remove(server.id) }
    }

    private func abandonWaiters(of key: PoolKey, error: ErrorFields) {
        let (_, abandoned) = pooler.shared.withLock { $0.pools.openFailed(in: key) }
        reject(abandoned, error)
    }

    /// Tells waiting clients, wherever they are, that they will not get a server.
    private func reject(_ waiting: [ClientID], _ error: ErrorFields) {
        for clientID in waiting {
            onWorker(clientID.loop) { $0.clients[clientID]?.reject(error) }
        }
    }
}
