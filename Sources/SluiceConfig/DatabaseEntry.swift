/// One line of the `[databases]` section: how a database name clients ask for maps to a server.
public struct DatabaseEntry: Sendable, Equatable {
    /// The name clients connect to (`*` for the fallback entry).
    public var name: String
    /// Server host name or address; nil (PgBouncer's default) or a value starting with `/`
    /// means a Unix socket, nil using `Settings.unixSocketDir`.
    public var host: String?
    public var port: Int
    /// The server database; nil means the same as the name the client asked for.
    public var dbname: String?
    /// A server user forced for every client of this database.
    public var user: String?
    public var password: String?
    public var poolSize: Int?
    public var minPoolSize: Int?
    public var reservePool: Int?
    public var poolMode: PoolMode?
    public var maxDBConnections: Int?
    /// Sent once on every new server connection.
    public var connectQuery: String?
    public var clientEncoding: String?
    public var dateStyle: String?
    public var timeZone: String?
    public var authUser: String?
    /// Ours: streaming replicas of this database's server (`replicas=host:port,host:port`), for
    /// read/write splitting.
    public var replicas: [ReplicaAddress] = []
    /// Ours: route read-only transactions to the replicas; nil means on when replicas are listed.
    public var readWriteSplit: Bool?
    /// Ours: a second database name that clients use for replicas only (`replica_alias=app_ro`).
    public var replicaAlias: String?
    /// Ours: whose writes a read must see (`read_your_writes`).
    public var readYourWrites = ReadYourWrites.client
    /// Set on the entry `Configuration.database(named:)` returns for a `replica_alias`: every
    /// transaction goes to a replica.
    public var replicasOnly = false

    public init(
        name: String, host: String? = nil, port: Int = 5432, dbname: String? = nil,
        user: String? = nil, password: String? = nil, poolSize: Int? = nil,
        minPoolSize: Int? = nil, reservePool: Int? = nil, poolMode: PoolMode? = nil,
        maxDBConnections: Int? = nil, connectQuery: String? = nil, clientEncoding: String? = nil,
        dateStyle: String? = nil, timeZone: String? = nil, authUser: String? = nil
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.dbname = dbname
        self.user = user
        self.password = password
        self.poolSize = poolSize
        self.minPoolSize = minPoolSize
        self.reservePool = reservePool
        self.poolMode = poolMode
        self.maxDBConnections = maxDBConnections
        self.connectQuery = connectQuery
        self.clientEncoding = clientEncoding
        self.dateStyle = dateStyle
        self.timeZone = timeZone
        self.authUser = authUser
    }

    /// The database to ask the server for.
    public var serverDatabaseName: String { dbname ?? name }

    /// True when servers opened for `other` would be the same as for this entry: same address,
    /// database, login and startup settings (pool sizes and modes may differ).
    public func opensServersLike(_ other: DatabaseEntry) -> Bool {
        host == other.host && port == other.port && dbname == other.dbname && user == other.user
            && password == other.password && replicas == other.replicas && connectQuery == other.connectQuery
            && clientEncoding == other.clientEncoding && dateStyle == other.dateStyle && timeZone == other.timeZone
    }

    /// Whether the server is reached over a Unix socket rather than TCP.
    public var usesUnixSocket: Bool { host.map { $0.hasPrefix("/") } ?? true }

    /// True when transactions are routed between the primary and the replicas.
    public var splitsReadsAndWrites: Bool { !replicas.isEmpty && (replicasOnly || readWriteSplit ?? true) }

    /// Where the server of `host` is: 0 the primary, 1... the replicas in listed order.
    public func address(ofHost index: Int) -> (host: String?, port: Int) {
        guard index > 0, index <= replicas.count else { return (host, port) }
        let replica = replicas[index - 1]
        return (replica.host, replica.port ?? port)
    }

    /// Builds an entry from its connection string. Returns error messages (without location)
    /// for every bad or unknown parameter; the entry holds the parameters that were valid.
    static func parse(name: String, connectionString: String) -> (DatabaseEntry, [String]) {
        var entry = DatabaseEntry(name: name)
        let errors = ConnectionString.apply(connectionString, describing: "database \"\(name)\"") { key, value throws(InvalidValue) in
            try entry.apply(key: key, value: value)
        }
        return (entry, errors)
    }

    /// Sets one connection-string parameter; false if the key is not one PgBouncer's
    /// `[databases]` section supports.
    private mutating func apply(key: String, value: String) throws(InvalidValue) -> Bool {
        switch key {
        case "host": host = value.isEmpty ? nil : value
        case "port": port = try Values.integer(value, in: 1...65535)
        case "dbname": dbname = value
        case "user": user = value
        case "password": password = value
        case "auth_user": authUser = value
        case "pool_size": poolSize = try Values.integer(value, in: 0...Int.max)
        case "min_pool_size": minPoolSize = try Values.integer(value, in: 0...Int.max)
        case "reserve_pool", "reserve_pool_size": reservePool = try Values.integer(value, in: 0...Int.max)
        case "max_db_connections": maxDBConnections = try Values.integer(value, in: 0...Int.max)
        case "pool_mode": poolMode = try Values.choice(value, of: PoolMode.self)
        case "connect_query": connectQuery = value
        case "client_encoding": clientEncoding = value
        case "datestyle": dateStyle = value
        case "timezone": timeZone = value
        case "replicas": replicas = try ReplicaAddress.list(value)
        case "read_write_split": readWriteSplit = try Values.bool(value)
        case "replica_alias": replicaAlias = value.isEmpty ? nil : value
        case "read_your_writes": readYourWrites = try Values.choice(value, of: ReadYourWrites.self)
        default: return false
        }
        return true
    }
}

/// One line of the `[users]` section: per-user overrides.
public struct UserEntry: Sendable, Equatable {
    public var name: String
    public var poolMode: PoolMode?
    public var maxUserConnections: Int?

    public init(name: String, poolMode: PoolMode? = nil, maxUserConnections: Int? = nil) {
        self.name = name
        self.poolMode = poolMode
        self.maxUserConnections = maxUserConnections
    }

    /// Builds an entry from `pool_mode=… max_user_connections=…`; error messages as for databases.
    static func parse(name: String, connectionString: String) -> (UserEntry, [String]) {
        var entry = UserEntry(name: name)
        let errors = ConnectionString.apply(connectionString, describing: "user \"\(name)\"") { key, value throws(InvalidValue) in
            switch key {
            case "pool_mode": entry.poolMode = try Values.choice(value, of: PoolMode.self)
            case "max_user_connections": entry.maxUserConnections = try Values.integer(value, in: 0...Int.max)
            default: return false
            }
            return true
        }
        return (entry, errors)
    }
}

/// One replica of a database entry: a host and, unless the entry's own port applies, a port.
public struct ReplicaAddress: Sendable, Equatable {
    public var host: String
    public var port: Int?

    public init(host: String, port: Int? = nil) {
        self.host = host
        self.port = port
    }

    /// `host[:port],host[:port],...`
    static func list(_ text: String) throws(InvalidValue) -> [ReplicaAddress] {
        var addresses: [ReplicaAddress] = []
        for item in Values.list(text) {
            guard let colon = item.lastIndex(of: ":") else {
                addresses.append(ReplicaAddress(host: item))
                continue
            }
            let host = String(item[..<colon])
            guard !host.isEmpty, let port = Int(item[item.index(after: colon)...]), (1...65535).contains(port) else {
                throw InvalidValue(expected: "a comma-separated list of host or host:port")
            }
            addresses.append(ReplicaAddress(host: host, port: port))
        }
        return addresses
    }
}

/// `read_your_writes`: after a client's write commits, which of its later reads must see it.
public enum ReadYourWrites: String, Sendable, CaseIterable {
    /// Reads may go to any replica that is healthy and close enough.
    case off
    /// The same client's reads wait for a replica that has replayed its last write.
    case client
    /// Every client's reads wait for a replica that has replayed the database's last write.
    case global
}
