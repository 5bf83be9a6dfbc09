/// The `[pgbouncer]` (or `[sluice]`) section. Property defaults are PgBouncer's.
/// Durations are seconds; 0 disables a timeout unless noted.
public struct Settings: Sendable, Equatable {
    // MARK: Listening

    /// `listen_addr`: TCP addresses to listen on; `*` means all IPv4 and IPv6 addresses.
    /// Empty (the default) means Unix socket only.
    public var listenAddresses: [String] = []
    /// `listen_port`, used for TCP and for the Unix socket's name.
    public var listenPort: Int = 6432
    /// `unix_socket_dir`; nil when set to the empty string, which disables Unix sockets.
    /// Also the directory for server entries without a host.
    public var unixSocketDir: String? = "/tmp"

    // MARK: Authentication

    public var authType: AuthType = .md5
    /// `auth_file`, resolved by the loader against the configuration file's directory.
    public var authFile: String?
    /// `admin_users`: may run every admin console command.
    public var adminUsers: Set<String> = []
    /// `stats_users`: may run the read-only admin console commands.
    public var statsUsers: Set<String> = []

    // MARK: Pools

    public var poolMode: PoolMode = .session
    public var defaultPoolSize: Int = 20
    public var minPoolSize: Int = 0
    public var reservePoolSize: Int = 0
    /// A client waiting this long may use the reserve pool.
    public var reservePoolTimeout: Double = 5
    public var maxClientConn: Int = 100
    /// 0 means unlimited.
    public var maxDBConnections: Int = 0
    /// 0 means unlimited.
    public var maxUserConnections: Int = 0

    // MARK: Server connections

    /// Run when a server connection returns to the pool in session mode; empty disables.
    public var serverResetQuery: String = "DISCARD ALL"
    /// Run the reset query in every pool mode, not only session mode.
    public var serverResetQueryAlways: Bool = false
    /// Run on a server connection idle longer than `serverCheckDelay`; empty disables.
    public var serverCheckQuery: String = "select 1"
    public var serverCheckDelay: Double = 30
    public var serverConnectTimeout: Double = 15
    /// Wait after a failed server login before trying again.
    public var serverLoginRetry: Double = 15
    public var serverLifetime: Double = 3600
    public var serverIdleTimeout: Double = 600

    // MARK: Client connections

    public var queryTimeout: Double = 0
    /// How long a client may wait for a server connection.
    public var queryWaitTimeout: Double = 120
    /// Sluice's own: on SIGINT or SIGTERM, how long transactions in flight may take to finish
    /// before their clients are disconnected; 0 waits without limit.
    public var shutdownTimeout: Double = 60
    public var clientIdleTimeout: Double = 0
    public var clientLoginTimeout: Double = 60
    public var idleTransactionTimeout: Double = 0
    /// Startup parameters accepted from clients but not sent to servers; lowercased.
    public var ignoreStartupParameters: Set<String> = []
    /// Parameters tracked per client in addition to the built-in ones (client_encoding,
    /// DateStyle, TimeZone, standard_conforming_strings, application_name).
    public var trackExtraParameters: [String] = ["IntervalStyle"]
    public var maxPacketSize: Int = 2_147_483_647
    /// `pkt_buf`: the I/O buffer size.
    public var packetBufferSize: Int = 4096
    /// Statements each server connection keeps prepared for clients in transaction and
    /// statement mode (least recently used closed first); 0 turns the mapping of clients'
    /// named statements off.
    public var maxPreparedStatements: Int = 200
    /// Ours: SQL-level PREPARE, EXECUTE and DEALLOCATE are mapped too, like Parse and Bind
    /// (needs max_prepared_statements above 0). Off by default: it reads every Query whole.
    public var sqlPreparedStatements: Bool = false

    // MARK: Logging and process

    public var logConnections: Bool = true
    public var logDisconnections: Bool = true
    public var logPoolerErrors: Bool = true
    /// nil when unset or empty.
    public var logfile: String?
    /// nil when unset or empty.
    public var pidfile: String?
    /// Sluice's own setting: the number of event loops, 1...64.
    public var threads: Int = 1

    // MARK: TLS (mode names validated; files as written)

    public var clientTLSSSLMode: String = "disable"
    public var clientTLSKeyFile: String?
    public var clientTLSCertFile: String?
    public var clientTLSCAFile: String?
    public var clientTLSProtocols: String = "secure"
    public var clientTLSCiphers: String = "default"
    public var serverTLSSSLMode: String = "prefer"
    public var serverTLSKeyFile: String?
    public var serverTLSCertFile: String?
    public var serverTLSCAFile: String?
    public var serverTLSProtocols: String = "secure"
    public var serverTLSCiphers: String = "default"

    /// All defaults.
    public init() {}
}
