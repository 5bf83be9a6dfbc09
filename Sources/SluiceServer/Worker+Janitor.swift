import PostgresWire
import SluiceCore
import SluiceIO

extension Worker {
    /// How often the janitor looks at every connection's age and idleness; timeouts are
    /// honoured to within this period, as in PgBouncer.
    static let janitorPeriod = 1.0

    func scheduleJanitor() {
        loop.schedule(after: Self.janitorPeriod) { [unowned self] in
            sweep(now: MonotonicClock.now())
            retireServersOfMovedHosts()
            scheduleJanitor()
        }
    }

    /// Applies the time-based settings: server_lifetime and server_idle_timeout to idle servers,
    /// query_timeout and idle_transaction_timeout to linked ones, client_idle_timeout to clients
    /// between transactions, and query_wait_timeout and reserve_pool_timeout to clients waiting
    /// for a server. (Checking here rather than with a timer per wait keeps the checkout path
    /// free of allocations.)
    func sweep(now: Double) {
        let settings = configuration.settings
        if now - periodStart >= settings.statsPeriod {
            lastPeriod = (Dictionary(uniqueKeysWithValues: traffic.map { ($0.key, $0.value.since(trafficAtPeriodStart[$0.key])) }), now - periodStart)
            trafficAtPeriodStart = traffic.mapValues { $0.copy() }
            periodStart = now
        }
        for server in Array(servers.values) {
            switch server.state {
            case .idle:
                let expired = settings.serverLifetime > 0 && now - server.createdAt > settings.serverLifetime
                let unused = settings.serverIdleTimeout > 0 && now - server.idleSince > settings.serverIdleTimeout
                    && pooler.shared.withLock { $0.pools.canShrink(server.poolKey) }
                guard expired || unused else { continue }
                logger.info("\(server.label) closing because: \(expired ? "server_lifetime" : "server_idle_timeout")")
                pools { $0.remove(server.id) }
                servers.removeValue(forKey: server.id)?.close()
            case .linked(let client):
                if settings.queryTimeout > 0 && !server.exchange.isSettled && now - server.busySince > settings.queryTimeout {
                    // Cancel first: closing alone leaves PostgreSQL running the query until it next writes.
                    cancelQuery(on: server)
                    client.reject(ErrorFields(code: SQLState.queryCanceled, message: "query_timeout"))
                } else if settings.idleTransactionTimeout > 0 && server.exchange.isSettled
                            && server.transactionStatus != .idle && now - server.busySince > settings.idleTransactionTimeout {
                    client.reject(ErrorFields(code: SQLState.idleInTransactionTimeout, message: "idle transaction timeout"))
                }
            default:
                continue
            }
        }
        for client in Array(clients.values) {
            switch client.state {
            case .idle where settings.clientIdleTimeout > 0 && now - client.stateSince > settings.clientIdleTimeout:
                client.reject(ErrorFields(code: SQLState.idleSessionTimeout, message: "client_idle_timeout"))
            case .waiting(let key) where settings.queryWaitTimeout > 0 && now - client.stateSince > settings.queryWaitTimeout:
                // While its pool cannot log in, the client learns why from the server's own error.
                client.reject(loginBackoff.lastError(of: key).map {
                    ErrorFields(code: $0.code, message: $0.message, detail: "no server could be logged in to within query_wait_timeout")
                } ?? ErrorFields(code: SQLState.protocolViolation, message: "query_wait_timeout"))
            case .waiting(let key) where settings.reservePoolTimeout > 0 && now - client.stateSince > settings.reservePoolTimeout:
                pools { $0.activateReserve(key) }
            default:
                continue
            }
        }
    }
}
