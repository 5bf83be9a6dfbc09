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
/// arrival order; servers are opened only while someone waits (or a minimum is kept) and every
/// limit allows it.
///
/// Pools live in an array and servers map to their pool's index, so a checkout and checkin
/// hash a server ID, never a pool's two name strings.
///
/// With several event loops the pools stay global: each idle server remembers the loop it sits
/// on, a checkout prefers a server on the asking client's loop (no move needed), and every
/// action that names a server says on which loop it is, so the caller knows where to run it.
public struct PoolManager: Sendable {
    public enum Action: Equatable, Sendable {
        /// Give the server, which sits on `loop`, to the client.
        case assign(ServerID, to: ClientID, loop: Int = 0)
        /// Start a new server connection for the pool; report back with `opened` or `openFailed`.
        case open(PoolKey)
        /// Close a server that sits on `loop`: an idle one to make room for a pool that waits,
        /// or one that was given back but may not be reused.
        case close(ServerID, loop: Int = 0)
    }

    private var pools: [Pool] = []
    private var poolIndices: [PoolKey: Int] = [:]
    private var serverPools: [ServerID: Int] = [:]
    /// Servers per database and per user, each on one host: limits hold per backend host.
    private var databaseCounts: [SharedBudget: Int] = [:]
    private var userCounts: [SharedBudget: Int] = [:]

    public init() {}

    /// Creates the pool or changes its limits (on reload); opens servers if waiting clients now fit.
    public mutating func configure(_ key: PoolKey, limits: PoolLimits) -> [Action] {
        if let index = poolIndices[key] {
            pools[index].limits = limits
            return openWhileNeeded(index)
        }
        pools.append(Pool(key: key, limits: limits))
        poolIndices[key] = pools.count - 1
        return openWhileNeeded(pools.count - 1)
    }

    public func limits(of key: PoolKey) -> PoolLimits? { poolIndices[key].map { pools[$0].limits } }

    /// A client waited past reserve_pool_timeout: the pool may grow by its reserve until nobody waits.
    public mutating func activateReserve(_ key: PoolKey) -> [Action] {
        guard let index = poolIndices[key], pools[index].limits.reserveSize > 0, !pools[index].waiting.isEmpty else { return [] }
        pools[index].reserveActive = true
        return openWhileNeeded(index)
    }

    /// True when closing one idle server would leave the pool above its minimum size.
    public func canShrink(_ key: PoolKey) -> Bool {
        guard let index = poolIndices[key] else { return false }
        return pools[index].total > pools[index].limits.minimumSize
    }

    /// A client on `loop` wants a server: an idle one at once (the most recently used on the
    /// client's own loop, else the most recently used anywhere), else it waits in line.
    public mutating func request(_ client: ClientID, from key: PoolKey, loop: Int = 0) -> [Action] {
        guard let index = poolIndices[key] else { return [] }
        if let server = pools[index].takeIdle(preferring: loop) {
            pools[index].activeCount += 1
            return [.assign(server.id, to: client, loop: server.loop)]
        }
        pools[index].waiting.append(client)
        return openWhileNeeded(index)
    }

    /// A waiting client left before it was served.
    public mutating func withdraw(_ client: ClientID, from key: PoolKey) {
        guard let index = poolIndices[key] else { return }
        pools[index].waiting.remove(client)
    }

    /// A server on `loop` finished logging in and joins the pool.
    public mutating func opened(_ server: ServerID, in key: PoolKey, loop: Int = 0) -> [Action] {
        guard let index = poolIndices[key] else { return [.close(server, loop: loop)] }
        pools[index].opening -= 1
        pools[index].activeCount += 1
        serverPools[server] = index
        return handOver(IdleServer(id: server, loop: loop), in: index)
    }

    /// Opening a server failed. When nothing else in the pool could serve them, the waiting
    /// clients are returned so the caller can tell them why, unless `keepingWaiters` (the
    /// failure is expected to pass, and the openings returned are retried).
    public mutating func openFailed(in key: PoolKey, keepingWaiters: Bool = false) -> (actions: [Action], abandoned: [ClientID]) {
        guard let index = poolIndices[key] else { return ([], []) }
        pools[index].opening -= 1
        count(key, by: -1)
        var abandoned: [ClientID] = []
        if !keepingWaiters && pools[index].activeCount == 0 && pools[index].idle.isEmpty && pools[index].opening == 0 {
            abandoned = pools[index].waiting.removeAll()
        }
        return (openWhileNeeded(index) + openForOthers(sharing: index), abandoned)
    }

    /// A client is done with its server, which sits on `loop`. A clean server goes to the next
    /// waiter or back to idle; one that is not reusable is dropped, and a replacement opened if
    /// someone waits.
    public mutating func release(_ server: ServerID, reusable: Bool, loop: Int = 0) -> [Action] {
        guard let index = serverPools[server] else { return [] }
        guard reusable else { return remove(server) + [.close(server, loop: loop)] }
        return handOver(IdleServer(id: server, loop: loop), in: index)
    }

    /// True for a server that finished opening and has not been removed.
    public func isPooled(_ server: ServerID) -> Bool { serverPools[server] != nil }

    /// A server closed or broke, idle or not.
    public mutating func remove(_ server: ServerID) -> [Action] {
        guard let index = serverPools.removeValue(forKey: server) else { return [] }
        if let position = pools[index].idle.firstIndex(where: { $0.id == server }) {
            pools[index].idle.remove(at: position)
        } else {
            pools[index].activeCount -= 1
        }
        count(pools[index].key, by: -1)
        return openWhileNeeded(index) + openForOthers(sharing: index)
    }

    /// Idle servers of a pool, most recently used last.
    /// Every pool's counts, in the order the pools were made (the admin console's SHOW POOLS).
    public var overview: [PoolOverview] {
        pools.map { PoolOverview(key: $0.key, limits: $0.limits, idle: $0.idle.count, active: $0.activeCount,
                                 opening: $0.opening, waiting: $0.waiting.count) }
    }

    public func idleServers(in key: PoolKey) -> [ServerID] { poolIndices[key].map { pools[$0].idle.map(\.id) } ?? [] }
    public func waitingClients(in key: PoolKey) -> [ClientID] { poolIndices[key].map { pools[$0].waiting.elements } ?? [] }
    public func serverCount(in key: PoolKey) -> Int { poolIndices[key].map { pools[$0].total } ?? 0 }
    public var keys: [PoolKey] { pools.map(\.key) }

    /// Gives a server (already counted active) to the next waiter, or back to idle; closes it
    /// when the pool holds more than it may.
    private mutating func handOver(_ server: IdleServer, in index: Int) -> [Action] {
        if pools[index].waiting.isEmpty { pools[index].reserveActive = false }
        if pools[index].total > pools[index].size {
            return remove(server.id) + [.close(server.id, loop: server.loop)]
        }
        if let client = pools[index].waiting.popFirst() {
            return [.assign(server.id, to: client, loop: server.loop)]
        }
        pools[index].activeCount -= 1
        pools[index].idle.append(server)
        return openForOthers(sharing: index)
    }

    /// Opens servers while clients wait for more than are already being opened, or the pool is
    /// below its minimum, and every limit allows; when only a shared database or user limit
    /// stands in the way of a waiting client, closes an idle server of another pool to make room.
    private mutating func openWhileNeeded(_ index: Int) -> [Action] {
        var actions: [Action] = []
        while pools[index].waiting.count > pools[index].opening || pools[index].total < pools[index].limits.minimumSize,
              pools[index].total < pools[index].size {
            let key = pools[index].key
            if !sharedLimitsAllow(key, pools[index].limits) {
                // Other pools give up idle servers only for a client that waits, not for a minimum.
                guard pools[index].waiting.count > pools[index].opening,
                      let victim = idleServersToClose(for: index).first else { break }
                actions += remove(victim.id) + [.close(victim.id, loop: victim.loop)]
                continue
            }
            pools[index].opening += 1
            count(key, by: 1)
            actions.append(.open(key))
        }
        return actions
    }

    /// After a server left a database's or user's shared budget, another pool may now fit.
    private mutating func openForOthers(sharing index: Int) -> [Action] {
        // Pools of one database share its database limit, pools of one user its user limit:
        // without either limit, no other pool can have been waiting on this one.
        let limits = pools[index].limits
        guard limits.maxDatabaseConnections > 0 || limits.maxUserConnections > 0 else { return [] }
        let key = pools[index].key
        var actions: [Action] = []
        for other in pools.indices where other != index
            && pools[other].key.host == key.host
            && (pools[other].key.database == key.database || pools[other].key.user == key.user) {
            actions += openWhileNeeded(other)
        }
        return actions
    }

    private func sharedLimitsAllow(_ key: PoolKey, _ limits: PoolLimits) -> Bool {
        (limits.maxDatabaseConnections == 0 || databaseCounts[.database(key), default: 0] < limits.maxDatabaseConnections)
            && (limits.maxUserConnections == 0 || userCounts[.user(key), default: 0] < limits.maxUserConnections)
    }

    /// Idle servers of other pools whose closing makes room for the pool at `index`: one counted
    /// against its database's budget if that is full, one against its user's if that is full.
    /// Empty when a full budget has no such server, so nothing is closed that would not help.
    private func idleServersToClose(for index: Int) -> [IdleServer] {
        let key = pools[index].key
        let limits = pools[index].limits
        func idle(_ shares: (PoolKey) -> Bool) -> IdleServer? {
            for other in pools.indices where other != index && shares(pools[other].key) {
                if let server = pools[other].idle.first { return server }
            }
            return nil
        }
        var servers: [IdleServer] = []
        if limits.maxDatabaseConnections > 0, databaseCounts[.database(key), default: 0] >= limits.maxDatabaseConnections {
            guard let server = idle({ $0.database == key.database && $0.host == key.host }) else { return [] }
            servers.append(server)
        }
        if limits.maxUserConnections > 0, userCounts[.user(key), default: 0] >= limits.maxUserConnections {
            guard let server = idle({ $0.user == key.user && $0.host == key.host }) else { return [] }
            servers.append(server)
        }
        return servers
    }

    private mutating func count(_ key: PoolKey, by delta: Int) {
        databaseCounts[.database(key), default: 0] += delta
        userCounts[.user(key), default: 0] += delta
    }
}

/// A database's or a user's server connections on one host, which max_db_connections and
/// max_user_connections bound.
private struct SharedBudget: Hashable {
    let name: String
    let host: Int

    static func database(_ key: PoolKey) -> SharedBudget { SharedBudget(name: key.database, host: key.host) }
    static func user(_ key: PoolKey) -> SharedBudget { SharedBudget(name: key.user, host: key.host) }
}

/// An idle server and the event loop it sits on.
private struct IdleServer: Sendable, Equatable {
    let id: ServerID
    let loop: Int
}

private struct Pool: Sendable {
    let key: PoolKey
    var limits: PoolLimits
    /// Most recently used last, so checkouts reuse warm servers.
    var idle: [IdleServer] = []
    /// Servers handed to clients (or just logged in and about to be).
    var activeCount = 0
    var opening = 0
    var waiting = FIFOQueue<ClientID>()
    var reserveActive = false

    var total: Int { idle.count + activeCount + opening }
    /// The most servers the pool may hold now.
    var size: Int { limits.poolSize + (reserveActive ? limits.reserveSize : 0) }

    /// The most recently used idle server on `loop`, else the most recently used one.
    /// With one loop this is always the last element: O(1).
    mutating func takeIdle(preferring loop: Int) -> IdleServer? {
        guard let position = idle.lastIndex(where: { $0.loop == loop }) else { return idle.popLast() }
        return idle.remove(at: position)
    }
}

/// One pool's counts at a moment.
public struct PoolOverview: Sendable, Equatable {
    public let key: PoolKey
    public let limits: PoolLimits
    public let idle: Int
    public let active: Int
    /// Servers connecting and logging in.
    public let opening: Int
    public let waiting: Int
}
