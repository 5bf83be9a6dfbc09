/// A client connection, unique for the life of the process.
public struct ClientID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    /// The event loop that owns the client for its whole life (clients never move; servers do).
    public let loop: Int
    public init(_ value: UInt64, loop: Int = 0) {
        self.value = value
        self.loop = loop
    }
    public var description: String { "C-\(value)" }
}

/// A server connection, unique for the life of the process.
public struct ServerID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String { "S-\(value)" }
}

/// A pool: the database name clients ask for and the user Sluice logs in to PostgreSQL as.
public struct PoolKey: Hashable, Sendable, CustomStringConvertible {
    public let database: String
    public let user: String
    /// Which of the database's servers: 0 the primary, 1... its replicas in listed order.
    public let host: Int
    /// The names' hash, worked out once: a key is made at login and looked up at every
    /// transaction, which then hashes one integer instead of two strings.
    private let namesHash: Int

    public init(database: String, user: String, host: Int = 0) {
        var hasher = Hasher()
        hasher.combine(database)
        hasher.combine(user)
        self.init(database: database, user: user, host: host, namesHash: hasher.finalize())
    }

    private init(database: String, user: String, host: Int, namesHash: Int) {
        self.database = database
        self.user = user
        self.host = host
        self.namesHash = namesHash
    }

    public static func == (lhs: PoolKey, rhs: PoolKey) -> Bool {
        lhs.namesHash == rhs.namesHash && lhs.host == rhs.host && lhs.database == rhs.database && lhs.user == rhs.user
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(namesHash)
        hasher.combine(host)
    }

    /// The same database and user on another of its servers.
    public func onHost(_ host: Int) -> PoolKey {
        host == self.host ? self : PoolKey(database: database, user: user, host: host, namesHash: namesHash)
    }

    public var description: String { host == 0 ? "\(database)/\(user)" : "\(database)/\(user)/replica\(host)" }
}
