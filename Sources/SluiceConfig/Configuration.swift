import SluiceAuth

/// Everything read from a configuration file, its includes and its `auth_file`.
public struct Configuration: Sendable, Equatable {
    public var settings: Settings
    /// Named `[databases]` entries, excluding the `*` fallback.
    public var databases: [String: DatabaseEntry]
    /// The `*` entry: used for any database name not listed.
    public var fallbackDatabase: DatabaseEntry?
    public var users: [String: UserEntry]
    /// From `auth_file`; empty if none is set.
    public var userSecrets: [String: StoredSecret]
    /// From `auth_hba_file` when `auth_type = hba`.
    public var hostBasedAuthentication = HostBasedAuthentication()
    /// The main configuration file.
    public var sourcePath: String

    public init(
        settings: Settings = Settings(), databases: [String: DatabaseEntry] = [:],
        fallbackDatabase: DatabaseEntry? = nil, users: [String: UserEntry] = [:],
        userSecrets: [String: StoredSecret] = [:], sourcePath: String
    ) {
        self.settings = settings
        self.databases = databases
        self.fallbackDatabase = fallbackDatabase
        self.users = users
        self.userSecrets = userSecrets
        self.sourcePath = sourcePath
    }

    /// The entry for a database name a client asked for: the named one, else the fallback
    /// renamed to `name`, else nil. The result's `dbname` is always filled in: the entry's own
    /// `dbname` if set, else `name`.
    public func database(named name: String) -> DatabaseEntry? {
        var entry: DatabaseEntry
        if let named = databases[name] {
            entry = named
        } else if let primary = databases.values.first(where: { $0.replicaAlias == name && !$0.replicas.isEmpty }) {
            entry = primary
            entry.replicasOnly = true
        } else if let fallback = fallbackDatabase {
            entry = fallback
            entry.name = name
        } else {
            return nil
        }
        entry.dbname = entry.dbname ?? entry.name
        return entry
    }

    /// The `[users]` pool mode for `user`, else the database's, else the global one.
    public func poolMode(database: DatabaseEntry, user: String) -> PoolMode {
        users[user]?.poolMode ?? database.poolMode ?? settings.poolMode
    }

    /// The database's `pool_size`, else `default_pool_size`.
    public func poolSize(for database: DatabaseEntry) -> Int {
        database.poolSize ?? settings.defaultPoolSize
    }

    /// The database's `min_pool_size`, else the global one.
    public func minPoolSize(for database: DatabaseEntry) -> Int {
        database.minPoolSize ?? settings.minPoolSize
    }

    /// The database's `reserve_pool`, else `reserve_pool_size`.
    public func reservePoolSize(for database: DatabaseEntry) -> Int {
        database.reservePool ?? settings.reservePoolSize
    }

    /// The database's `max_db_connections`, else the global one; 0 means unlimited.
    public func maxDBConnections(for database: DatabaseEntry) -> Int {
        database.maxDBConnections ?? settings.maxDBConnections
    }

    /// The user's `max_user_connections`, else the global one; 0 means unlimited.
    public func maxUserConnections(for user: String) -> Int {
        users[user]?.maxUserConnections ?? settings.maxUserConnections
    }
}
