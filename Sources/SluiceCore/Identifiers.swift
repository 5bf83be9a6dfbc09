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
    public init(database: String, user: String) {
        self.database = database
        self.user = user
    }
    public var description: String { "\(database)/\(user)" }
}
