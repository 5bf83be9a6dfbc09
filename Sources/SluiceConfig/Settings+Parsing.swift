extension Settings {
    /// What became of one `key = value` line of the settings section.
    enum Outcome: Equatable {
        case applied
        /// A PgBouncer setting Sluice recognises but does not implement.
        case unsupported
        case unknown
    }

    /// Applies one setting; `key` must already be lowercased.
    mutating func apply(key: String, value: String) throws(InvalidValue) -> Outcome {
        let nonNegative = 0...Int.max
        switch key {
        case "listen_addr": listenAddresses = Values.list(value)
        case "listen_port": listenPort = try Values.integer(value, in: 1...65535)
        case "unix_socket_dir": unixSocketDir = nonEmpty(value)
        case "auth_type": authType = try Values.choice(value, of: AuthType.self)
        case "auth_file": authFile = nonEmpty(value)
        case "auth_hba_file": authHBAFile = nonEmpty(value)
        case "auth_failure_delay": authFailureDelay = try Values.seconds(value)
        case "stats_period": statsPeriod = max(1, try Values.seconds(value))
        case "metrics_listen": metricsListen = nonEmpty(value)
        case "admin_users": adminUsers = Set(Values.list(value))
        case "stats_users": statsUsers = Set(Values.list(value))
        case "pool_mode": poolMode = try Values.choice(value, of: PoolMode.self)
        case "default_pool_size": defaultPoolSize = try Values.integer(value, in: nonNegative)
        case "min_pool_size": minPoolSize = try Values.integer(value, in: nonNegative)
        case "reserve_pool_size": reservePoolSize = try Values.integer(value, in: nonNegative)
        case "reserve_pool_timeout": reservePoolTimeout = try Values.seconds(value)
        case "max_client_conn": maxClientConn = try Values.integer(value, in: 1...Int.max)
        case "max_db_connections": maxDBConnections = try Values.integer(value, in: nonNegative)
        case "max_user_connections": maxUserConnections = try Values.integer(value, in: nonNegative)
        case "server_reset_query": serverResetQuery = value
        case "server_reset_query_always": serverResetQueryAlways = try Values.bool(value)
        case "server_check_query": serverCheckQuery = value
        case "server_check_delay": serverCheckDelay = try Values.seconds(value)
        case "server_connect_timeout": serverConnectTimeout = try Values.seconds(value)
        case "server_login_retry": serverLoginRetry = try Values.seconds(value)
        case "server_lifetime": serverLifetime = try Values.seconds(value)
        case "server_idle_timeout": serverIdleTimeout = try Values.seconds(value)
        case "query_timeout": queryTimeout = try Values.seconds(value)
        case "query_wait_timeout": queryWaitTimeout = try Values.seconds(value)
        case "shutdown_timeout": shutdownTimeout = try Values.seconds(value)
        case "client_idle_timeout": clientIdleTimeout = try Values.seconds(value)
        case "client_login_timeout": clientLoginTimeout = try Values.seconds(value)
        case "idle_transaction_timeout": idleTransactionTimeout = try Values.seconds(value)
        case "ignore_startup_parameters":
            ignoreStartupParameters = Set(Values.list(value).map { $0.lowercased() })
        case "track_extra_parameters": trackExtraParameters = Values.list(value)
        case "max_packet_size": maxPacketSize = try Values.integer(value, in: 1...Int(Int32.max))
        case "pkt_buf": packetBufferSize = try Values.integer(value, in: 512...Int(Int32.max))
        case "max_prepared_statements": maxPreparedStatements = try Values.integer(value, in: 0...100_000)
        case "sql_prepared_statements": sqlPreparedStatements = try Values.bool(value)
        case "replica_poll_interval": replicaPollInterval = max(0.001, try Values.seconds(value))
        case "replica_wait_timeout": replicaWaitTimeout = try Values.seconds(value)
        case "max_replica_lag": maxReplicaLag = try ReplicaLagLimit.parse(value)
        case "replica_ban_time": replicaBanTime = try Values.seconds(value)
        case "dns_max_ttl": dnsMaxTTL = try Values.seconds(value)
        case "dns_nxdomain_ttl": dnsNXDomainTTL = try Values.seconds(value)
        case "dns_hosts_file": dnsHostsFile = nonEmpty(value)
        case "user": user = nonEmpty(value)
        case "so_reuseport": soReuseport = try Values.bool(value)
        case "replica_balance": replicaBalance = try Values.choice(value, of: ReplicaBalance.self)
        case "writing_functions": writingFunctions = Values.list(value)
        case "log_connections": logConnections = try Values.bool(value)
        case "log_disconnections": logDisconnections = try Values.bool(value)
        case "log_pooler_errors": logPoolerErrors = try Values.bool(value)
        case "logfile": logfile = nonEmpty(value)
        case "pidfile": pidfile = nonEmpty(value)
        case "threads": threads = try Values.integer(value, in: 1...64)
        case "client_tls_sslmode": clientTLSSSLMode = try Values.choice(value, among: TLSModeNames.all)
        case "client_tls_key_file": clientTLSKeyFile = nonEmpty(value)
        case "client_tls_cert_file": clientTLSCertFile = nonEmpty(value)
        case "client_tls_ca_file": clientTLSCAFile = nonEmpty(value)
        case "client_tls_protocols": clientTLSProtocols = value
        case "client_tls_ciphers": clientTLSCiphers = value
        case "server_auth_methods":
            guard let methods = ServerAuthMethods(parsing: value) else {
                throw InvalidValue(expected: "any, or a list of none, password, md5 and scram-sha-256 (each may start with !)")
            }
            serverAuthMethods = methods
        case "server_tls_sslmode": serverTLSSSLMode = try Values.choice(value, among: TLSModeNames.all)
        case "server_tls_key_file": serverTLSKeyFile = nonEmpty(value)
        case "server_tls_cert_file": serverTLSCertFile = nonEmpty(value)
        case "server_tls_ca_file": serverTLSCAFile = nonEmpty(value)
        case "server_tls_protocols": serverTLSProtocols = value
        case "server_tls_ciphers": serverTLSCiphers = value
        default:
            return Self.unsupportedPgBouncerKeys.contains(key) ? .unsupported : .unknown
        }
        return .applied
    }

    private func nonEmpty(_ value: String) -> String? {
        value.isEmpty ? nil : value
    }

    /// PgBouncer 1.25 settings that Sluice accepts with a warning and does not apply yet, so
    /// that a PgBouncer configuration starts; a key neither knows is an error.
    static let unsupportedPgBouncerKeys: Set<String> = [
        "application_name_add_host", "auth_dbname", "auth_ident_file", "auth_ldap_options", "auth_query", "auth_user",
        "autodb_idle_timeout", "cancel_wait_timeout", "client_tls13_ciphers", "client_tls_dheparams", "client_tls_ecdhcurve",
        "conffile", "disable_pqexec", "dns_zone_check_period",
        "job_name", "listen_backlog", "log_stats", "max_db_client_connections", "max_user_client_connections",
        "peer_id", "query_wait_notify",
        "resolv_conf", "sbuf_loopcnt", "scram_iterations", "server_fast_close", "server_round_robin",
        "server_tls13_ciphers", "service_name",
        "suspend_timeout", "syslog", "syslog_facility",
        "syslog_ident", "tcp_defer_accept", "tcp_keepalive", "tcp_keepcnt", "tcp_keepidle",
        "tcp_keepintvl", "tcp_socket_buffer", "tcp_user_timeout", "transaction_timeout", "unix_socket_group",
        "unix_socket_mode", "verbose",
    ]

    /// `unknown setting "key"`, with the likely intended key when there is one.
    static func unknownKeyMessage(_ key: String) -> String {
        "unknown setting \"\(key)\"" + (suggestion(for: key).map { "; did you mean \"\($0)\"?" } ?? "")
    }

    /// Every key `apply` takes (kept in step with it by a test), for suggesting one in place of
    /// a misspelt key.
    static let appliedKeys: [String] = [
        "admin_users", "auth_failure_delay", "auth_file", "auth_hba_file", "auth_type",
        "client_idle_timeout", "client_login_timeout", "client_tls_ca_file", "client_tls_cert_file",
        "client_tls_ciphers", "client_tls_key_file", "client_tls_protocols", "client_tls_sslmode",
        "default_pool_size", "dns_hosts_file", "dns_max_ttl", "dns_nxdomain_ttl",
        "idle_transaction_timeout", "ignore_startup_parameters", "listen_addr", "listen_port",
        "log_connections", "log_disconnections", "log_pooler_errors", "logfile", "max_client_conn",
        "max_db_connections", "max_packet_size", "max_prepared_statements", "max_replica_lag",
        "max_user_connections", "metrics_listen", "min_pool_size", "pidfile", "pkt_buf",
        "pool_mode", "query_timeout", "query_wait_timeout", "replica_balance", "replica_ban_time",
        "replica_poll_interval", "replica_wait_timeout", "reserve_pool_size",
        "reserve_pool_timeout", "server_auth_methods", "server_check_delay", "server_check_query",
        "server_connect_timeout", "server_idle_timeout", "server_lifetime", "server_login_retry",
        "server_reset_query", "server_reset_query_always", "server_tls_ca_file",
        "server_tls_cert_file", "server_tls_ciphers", "server_tls_key_file", "server_tls_protocols",
        "server_tls_sslmode", "shutdown_timeout", "so_reuseport", "sql_prepared_statements",
        "stats_period", "stats_users", "threads", "track_extra_parameters", "unix_socket_dir",
        "user", "writing_functions",
    ]

    /// The known key closest to `key` in edit distance, if close enough to be a likely typo.
    static func suggestion(for key: String) -> String? {
        let candidates = appliedKeys + unsupportedPgBouncerKeys.sorted()
        let scored = candidates.map { ($0, editDistance($0, key)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, key.count / 3) else { return nil }
        return best.0
    }

    /// Levenshtein distance between two keys.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// Why the console's SET refused a change.
public struct SettingChangeError: Error, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
}

extension Settings {
    /// Changes one setting as a `key = value` line of the settings section would: the console's SET.
    public mutating func change(_ key: String, to value: String) throws(SettingChangeError) {
        let outcome: Outcome
        do {
            outcome = try apply(key: key, value: value)
        } catch {
            throw SettingChangeError(message: error.message(key: key, value: value))
        }
        switch outcome {
        case .applied: return
        case .unsupported: throw SettingChangeError(message: "\(key): PgBouncer setting not supported by Sluice")
        case .unknown: throw SettingChangeError(message: Settings.unknownKeyMessage(key))
        }
    }
}
