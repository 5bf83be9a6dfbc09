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
    /// Ours: `host:port` of the HTTP listener serving Prometheus metrics at /metrics; nil: none.
    public var metricsListen: String?
    /// The period SHOW STATS averages over.
    public var statsPeriod: Double = 60
    /// Ours: how long a failed login waits for its error (0 answers at once).
    public var authFailureDelay: Double = 0.5
    /// The rules of `auth_type = hba` (PgBouncer's pg_hba.conf subset).
    public var authHBAFile: String?
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
    /// Sluice's own: on SIGINT (SHUTDOWN WAIT_FOR_SERVERS), how long transactions in flight may
    /// take to finish before their clients are disconnected; 0 waits without limit.
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
    /// The user to run as once the listeners are bound (as `-u`); needs Sluice to start as root.
    public var user: String?
    /// SO_REUSEPORT on the TCP listeners, so another Sluice can listen on the same port (for a
    /// restart without a moment of refused connections).
    public var soReuseport = false

    // MARK: Host names

    /// How long a resolved server host name serves before it is looked up again.
    public var dnsMaxTTL: Double = 15
    /// How long a failed lookup is remembered.
    public var dnsNXDomainTTL: Double = 15
    /// Sluice's own: a file in hosts(5) format whose names resolve to its addresses before
    /// the system resolver is asked; read again at every lookup.
    public var dnsHostsFile: String?

    // MARK: Read/write splitting (ours)

    /// How often each replica is asked how far it has replayed (and whether it is alive).
    public var replicaPollInterval: Double = 0.01
    /// How long a read waits for a replica that has replayed the client's last write before it
    /// runs on the primary instead.
    public var replicaWaitTimeout: Double = 1
    /// A replica further behind than this gets no reads.
    public var maxReplicaLag = ReplicaLagLimit.none
    /// How long a replica that failed gets no reads.
    public var replicaBanTime: Double = 30
    public var replicaBalance = ReplicaBalance.leastOutstanding
    /// Functions whose call makes a statement a write (a final `*` makes a name a prefix).
    public var writingFunctions: [String] = WritingFunctionDefaults.patterns

    // MARK: TLS (mode names validated; files as written)

    public var clientTLSSSLMode: String = "disable"
    public var clientTLSKeyFile: String?
    public var clientTLSCertFile: String?
    public var clientTLSCAFile: String?
    public var clientTLSProtocols: String = "secure"
    public var clientTLSCiphers: String = "default"
    /// The authentication PostgreSQL may ask of Sluice (`server_auth_methods`, ours).
    public var serverAuthMethods: ServerAuthMethods = .any
    public var serverTLSSSLMode: String = "prefer"
    public var serverTLSKeyFile: String?
    public var serverTLSCertFile: String?
    public var serverTLSCAFile: String?
    public var serverTLSProtocols: String = "secure"
    public var serverTLSCiphers: String = "default"

    /// All defaults.
    public init() {}
}

/// `max_replica_lag`: in bytes of WAL not yet replayed (`16MB`), or in seconds since the last
/// replayed transaction (`5s`); 0 means no limit.
public enum ReplicaLagLimit: Sendable, Equatable {
    case none
    case bytes(UInt64)
    case seconds(Double)

    static func parse(_ text: String) throws(InvalidValue) -> ReplicaLagLimit {
        let invalid = InvalidValue(expected: "0, a size (bytes, kB, MB, GB) or a duration (ms, s, min)")
        let trimmed = text.trimmed
        let numberEnd = trimmed.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? trimmed.endIndex
        let unit = trimmed[numberEnd...].trimmed.lowercased()
        guard let number = Double(trimmed[..<numberEnd]), number >= 0, number.isFinite else { throw invalid }
        if number == 0 { return .none }
        switch unit {
        case "", "b", "bytes": return .bytes(UInt64(number))
        case "kb": return .bytes(UInt64(number * 1024))
        case "mb": return .bytes(UInt64(number * 1024 * 1024))
        case "gb": return .bytes(UInt64(number * 1024 * 1024 * 1024))
        case "ms", "s", "min": return .seconds(try Values.seconds(text))
        default: throw invalid
        }
    }
}

/// `replica_balance`: which healthy replica a read goes to.
public enum ReplicaBalance: String, Sendable, CaseIterable {
    /// The one with the fewest transactions running through Sluice.
    case leastOutstanding = "least_outstanding"
    case roundRobin = "round_robin"
}

/// The default `writing_functions`: calls that write or take locks, or that fail on a replica.
public enum WritingFunctionDefaults {
    public static let patterns = [
        "nextval", "setval", "currval", "lastval", "pg_advisory_*", "pg_try_advisory_*", "lo_*", "pg_notify",
        "set_config", "txid_current", "pg_current_xact_id", "pg_current_wal_*", "pg_switch_wal",
        "pg_create_restore_point", "pg_logical_emit_message", "pg_cancel_backend", "pg_terminate_backend",
        "pg_reload_conf",
    ]
}
