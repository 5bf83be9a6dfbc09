import PostgresWire
import SluiceCore

extension Worker {
    static let shutdownError = ErrorFields(code: SQLState.adminShutdown, message: "terminating connection due to administrator command")

    /// `.waitForServers`: every client is disconnected at its next transaction boundary (at once
    /// if it is between transactions), and any left after shutdown_timeout are disconnected then.
    /// `.waitForClients`: clients go on until they leave. `.immediate`: everyone is disconnected
    /// now. A later request may only hasten a shutdown under way.
    func beginStopping(_ mode: AdminCommand.ShutdownMode) {
        if let current = shutdownMode, mode.urgency <= current.urgency { return }
        shutdownMode = mode
        switch mode {
        case .immediate:
            disconnectAll()
        case .waitForServers:
            for client in Array(clients.values) where !client.isInTransaction {
                client.reject(Self.shutdownError)
            }
            let timeout = configuration.settings.shutdownTimeout
            if timeout > 0 {
                loop.schedule(after: timeout) { [unowned self] in self.disconnectAll() }
            }
        case .waitForClients:
            break
        }
        if clients.isEmpty { reportNoClients() }
    }

    private func disconnectAll() {
        for client in Array(clients.values) { client.reject(Self.shutdownError) }
    }

    /// Applies the pool limits of the running configuration to every pool (after a reload).
    func applyPoolLimits() {
        let limits = pooler.shared.withLock { $0.pools.keys }.compactMap { key -> (PoolKey, PoolLimits)? in
            guard let entry = configuration.database(named: key.database) else { return nil }
            return (key, self.limits(for: entry, user: key.user))
        }
        for (key, poolLimits) in limits {
            pools { $0.configure(key, limits: poolLimits) }
        }
    }

    /// The last step of a shutdown, once no worker has a client.
    func finishStopping() {
        let counts = statementCounts
        if counts.prepares + counts.hits > 0 {
            logger.info("loop \(index) prepared statements: \(counts.prepares) prepared, \(counts.hits) found prepared, \(counts.reprepares) prepared again on another server, \(counts.evictions) evicted, \(counts.staleRetries) retried after a stale plan")
        }
        metrics?.stop()
        metrics = nil
        for (database, watch) in replicaWatches {
            watch.stop()
            if let set = pooler.shared.withLock({ $0.replicaSets[database] }) { logger.info("database \(database): \(set.summary)") }
        }
        replicaWatches = [:]
        for server in servers.values { server.close() }
        servers = [:]
        loop.stop()
    }
}

extension AdminCommand.ShutdownMode {
    /// How soon the mode ends the pooler: a later request may only raise it.
    var urgency: Int {
        switch self {
        case .waitForClients: 0
        case .waitForServers: 1
        case .immediate: 2
        }
    }
}
