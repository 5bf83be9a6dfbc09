/// Size limits of one pool, and the limits it shares with other pools of its database and user.
public struct PoolLimits: Sendable, Equatable {
    public var poolSize: Int
    /// Server connections for the pool's database across its users; 0 means no limit.
    public var maxDatabaseConnections: Int
    /// Server connections for the pool's user across databases; 0 means no limit.
    public var maxUserConnections: Int

    /// Servers kept open even with nobody waiting (min_pool_size).
    public var minimumSize: Int
    /// Extra servers allowed once a client has waited too long (reserve_pool_size).
    public var reserveSize: Int

    public init(poolSize: Int, maxDatabaseConnections: Int = 0, maxUserConnections: Int = 0,
                minimumSize: Int = 0, reserveSize: Int = 0) {
        self.poolSize = poolSize
        self.maxDatabaseConnections = maxDatabaseConnections
        self.maxUserConnections = maxUserConnections
        self.minimumSize = minimumSize
        self.reserveSize = reserveSize
    }
}

/// Every pool's servers and waiting clients, sans I/O. Clients ask for a server and wait in
/// arrival order; servers are opened only while someone waits and every limit allows it.
public struct PoolManager: Sendable {
    public enum Action: Equatable, Sendable {
        case assign(ServerID, to: ClientID)
        /// Start a new server connection for the pool; report back with `opened` or `openFailed`.
        case open(PoolKey)
        /// Close an idle server, to make room for a pool that waits.
        case close(ServerID)
    }

    private var pools: [PoolKey: Pool] = [:]
    private var serverPools: [ServerID: PoolKey] = [:]
    private var databaseCounts: [String: Int] = [:]
    private var userCounts: [String: Int] = [:]

    public init() {}

    /// Creates the pool or changes its limits (on reload); opens servers if waiting clients now fit.
    public mutating func configure(_ key: PoolKey, limits: PoolLimits) -> [Action] {
        pools[key, default: Pool(limits: limits)].limits = limits
        return openWhileNeeded(key)
    }

    public func limits(of key: PoolKey) -> PoolLimits? { pools[key]?.limits }

    /// A client waited past reserve_pool_timeout: the pool may grow by its reserve until nobody waits.
    public mutating func activateReserve(_ key: PoolKey) -> [Action] {
        let activated = withPool(key) { pool in
            guard pool.limits.reserveSize > 0, !pool.waiting.isEmpty else { return false }
            pool.reserveActive = true
            return true
        }
        return activated == true ? openWhileNeeded(key) : []
    }

    /// True when closing one idle server would leave the pool above its minimum size.
    public func canShrink(_ key: PoolKey) -> Bool {
        guard let pool = pools[key] else { return false }
        return pool.total > pool.limits.minimumSize
    }

    /// A client wants a server: an idle one at once, else it waits in line.
    public mutating func request(_ client: ClientID, from key: PoolKey) -> [Action] {
        let idle = withPool(key) { pool -> ServerID? in
            guard let server = pool.idle.popLast() else {
                pool.waiting.append(client)
                return nil
            }
            pool.active.insert(server)
            return server
        }
        switch idle {
        case nil: return []
        case .some(nil): return openWhileNeeded(key)
        case .some(let server?): return [.assign(server, to: client)]
        }
    }

    /// A waiting client left before it was served.
    public mutating func withdraw(_ client: ClientID, from key: PoolKey) {
        pools[key]?.waiting.removeAll { $0 == client }
    }

    /// A server finished logging in and joins the pool.
    public mutating func opened(_ server: ServerID, in key: PoolKey) -> [Action] {
        let known = withPool(key) { pool in
            pool.opening -= 1
            pool.active.insert(server)
        }
        guard known != nil else { return [.close(server)] }
        serverPools[server] = key
        return handOver(server, in: key)
    }

    /// Opening a server failed. When nothing else in the pool could serve them, the waiting
    /// clients are returned so the caller can tell them why.
    public mutating func openFailed(in key: PoolKey) -> (actions: [Action], abandoned: [ClientID]) {
        let abandoned = withPool(key) { pool -> [ClientID] in
            pool.opening -= 1
            guard pool.active.isEmpty && pool.idle.isEmpty && pool.opening == 0 else { return [] }
            defer { pool.waiting = [] }
            return pool.waiting
        }
        guard let abandoned else { return ([], []) }
        count(key, by: -1)
        return (openWhileNeeded(key) + openForOthers(sharing: key), abandoned)
    }

    /// A client is done with its server. A clean server goes to the next waiter or back to idle;
    /// one that is not reusable is dropped, and a replacement opened if someone waits.
    public mutating func release(_ server: ServerID, reusable: Bool) -> [Action] {
        guard let key = serverPools[server] else { return [] }
        guard reusable else { return remove(server) + [.close(server)] }
        return handOver(server, in: key)
    }

    /// A server closed or broke, idle or not.
    public mutating func remove(_ server: ServerID) -> [Action] {
        guard let key = serverPools.removeValue(forKey: server) else { return [] }
        let known = withPool(key) { pool in
            pool.active.remove(server)
            pool.idle.removeAll { $0 == server }
        }
        guard known != nil else { return [] }
        count(key, by: -1)
        return openWhileNeeded(key) + openForOthers(sharing: key)
    }

    /// Idle servers of a pool, most recently used last.
    public func idleServers(in key: PoolKey) -> [ServerID] { pools[key]?.idle ?? [] }
    public func waitingClients(in key: PoolKey) -> [ClientID] { pools[key]?.waiting ?? [] }
    public func serverCount(in key: PoolKey) -> Int { pools[key].map { $0.total } ?? 0 }
    public var keys: [PoolKey] { Array(pools.keys) }

    private enum HandOver {
        case surplus
        case assigned(ClientID)
        case idle
    }

    private mutating func handOver(_ server: ServerID, in key: PoolKey) -> [Action] {
        let outcome = withPool(key) { pool -> HandOver in
            if pool.waiting.isEmpty { pool.reserveActive = false }
            if pool.total > pool.size { return .surplus }
            if !pool.waiting.isEmpty { return .assigned(pool.waiting.removeFirst()) }
            pool.active.remove(server)
            pool.idle.append(server)
            return .idle
        }
        switch outcome {
        case nil: return []
        case .surplus?: return remove(server) + [.close(server)]
        case .assigned(let client)?: return [.assign(server, to: client)]
        case .idle?: return openForOthers(sharing: key)
        }
    }

    /// Mutates a pool in place (copying it out of the dictionary would copy its arrays on
    /// every checkout); nil when the pool does not exist.
    private mutating func withPool<Result>(_ key: PoolKey, _ body: (inout Pool) -> Result) -> Result? {
        guard let index = pools.index(forKey: key) else { return nil }
        return body(&pools.values[index])
    }

    /// Opens servers while clients wait for more than are already being opened and every limit
    /// allows; when only a shared database or user limit stands in the way, closes an idle server
    /// of another pool to make room.
    private mutating func openWhileNeeded(_ key: PoolKey) -> [Action] {
        var actions: [Action] = []
        while let pool = pools[key], pool.waiting.count > pool.opening || pool.total < pool.limits.minimumSize,
              pool.total < pool.size {
            if !sharedLimitsAllow(key, pool.limits) {
                // Other pools give up idle servers only for a client that waits, not for a minimum.
                guard pool.waiting.count > pool.opening,
                      let victim = idleServersToClose(for: key, pool.limits).first else { break }
                actions += remove(victim) + [.close(victim)]
                continue
            }
            _ = withPool(key) { $0.opening += 1 }
            count(key, by: 1)
            actions.append(.open(key))
        }
        return actions
    }

    /// After a server left a database's or user's shared budget, another pool may now fit.
    private mutating func openForOthers(sharing key: PoolKey) -> [Action] {
        // Pools of one database share its database limit, pools of one user its user limit:
        // without either limit, no other pool can have been waiting on this one.
        guard let limits = pools[key]?.limits, limits.maxDatabaseConnections > 0 || limits.maxUserConnections > 0 else {
            return []
        }
        var actions: [Action] = []
        for other in pools.keys where other != key && (other.database == key.database || other.user == key.user) {
            actions += openWhileNeeded(other)
        }
        return actions
    }

    private func sharedLimitsAllow(_ key: PoolKey, _ limits: PoolLimits) -> Bool {
        (limits.maxDatabaseConnections == 0 || databaseCounts[key.database, default: 0] < limits.maxDatabaseConnections)
            && (limits.maxUserConnections == 0 || userCounts[key.user, default: 0] < limits.maxUserConnections)
    }

    /// Idle servers of other pools whose closing makes room for `key`: one counted against its
    /// database's budget if that is full, one against its user's if that is full. Empty when a
    /// full budget has no such server, so nothing is closed that would not help.
    private func idleServersToClose(for key: PoolKey, _ limits: PoolLimits) -> [ServerID] {
        func idle(_ shares: (PoolKey) -> Bool) -> ServerID? {
            for (other, pool) in pools where other != key && shares(other) {
                if let server = pool.idle.first { return server }
            }
            return nil
        }
        var servers: [ServerID] = []
        if limits.maxDatabaseConnections > 0, databaseCounts[key.database, default: 0] >= limits.maxDatabaseConnections {
            guard let server = idle({ $0.database == key.database }) else { return [] }
            servers.append(server)
        }
        if limits.maxUserConnections > 0, userCounts[key.user, default: 0] >= limits.maxUserConnections {
            guard let server = idle({ $0.user == key.user }) else { return [] }
            servers.append(server)
        }
        return servers
    }

    private mutating func count(_ key: PoolKey, by delta: Int) {
        databaseCounts[key.database, default: 0] += delta
        userCounts[key.user, default: 0] += delta
    }
}

private struct Pool: Sendable {
    var limits: PoolLimits
    var idle: [ServerID] = []
    var active: Set<ServerID> = []
    var opening = 0
    var waiting: [ClientID] = []
    var reserveActive = false

    var total: Int { idle.count + active.count + opening }
    /// The most servers the pool may hold now.
    var size: Int { limits.poolSize + (reserveActive ? limits.reserveSize : 0) }
}
