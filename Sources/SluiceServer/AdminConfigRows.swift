import SluiceConfig

/// SHOW CONFIG's rows: each setting Sluice acts on, its value, its default, and whether a
/// RELOAD changes it (the others need a restart).
enum AdminConfigRows {
    static func rows(_ settings: Settings, defaults: Settings) -> [(String, String, String, Bool)] {
        func row(_ key: String, _ value: (Settings) -> String, changeable: Bool = true) -> (String, String, String, Bool) {
            (key, value(settings), value(defaults), changeable)
        }
        func seconds(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
        return [
            row("listen_addr", { $0.listenAddresses.joined(separator: ",") }, changeable: false),
            row("listen_port", { String($0.listenPort) }, changeable: false),
            row("unix_socket_dir", { $0.unixSocketDir ?? "" }, changeable: false),
            row("auth_type", { $0.authType.rawValue }),
            row("auth_file", { $0.authFile ?? "" }),
            row("auth_hba_file", { $0.authHBAFile ?? "" }),
            row("pool_mode", { $0.poolMode.rawValue }),
            row("default_pool_size", { String($0.defaultPoolSize) }),
            row("min_pool_size", { String($0.minPoolSize) }),
            row("reserve_pool_size", { String($0.reservePoolSize) }),
            row("reserve_pool_timeout", { seconds($0.reservePoolTimeout) }),
            row("max_client_conn", { String($0.maxClientConn) }),
            row("max_db_connections", { String($0.maxDBConnections) }),
            row("max_user_connections", { String($0.maxUserConnections) }),
            row("server_reset_query", { $0.serverResetQuery }),
            row("server_check_query", { $0.serverCheckQuery }),
            row("server_check_delay", { seconds($0.serverCheckDelay) }),
            row("server_connect_timeout", { seconds($0.serverConnectTimeout) }),
            row("server_login_retry", { seconds($0.serverLoginRetry) }),
            row("server_lifetime", { seconds($0.serverLifetime) }),
            row("server_idle_timeout", { seconds($0.serverIdleTimeout) }),
            row("query_timeout", { seconds($0.queryTimeout) }),
            row("query_wait_timeout", { seconds($0.queryWaitTimeout) }),
            row("idle_transaction_timeout", { seconds($0.idleTransactionTimeout) }),
            row("client_idle_timeout", { seconds($0.clientIdleTimeout) }),
            row("client_login_timeout", { seconds($0.clientLoginTimeout) }),
            row("max_packet_size", { String($0.maxPacketSize) }),
            row("pkt_buf", { String($0.packetBufferSize) }, changeable: false),
            row("max_prepared_statements", { String($0.maxPreparedStatements) }),
            row("admin_users", { $0.adminUsers.sorted().joined(separator: ",") }),
            row("stats_users", { $0.statsUsers.sorted().joined(separator: ",") }),
            row("client_tls_sslmode", { $0.clientTLSSSLMode }),
            row("server_tls_sslmode", { $0.serverTLSSSLMode }),
            row("server_auth_methods", { $0.serverAuthMethods.description }),
            row("threads", { String($0.threads) }, changeable: false),
            row("metrics_listen", { $0.metricsListen ?? "" }, changeable: false),
            row("track_extra_parameters", { $0.trackExtraParameters.joined(separator: ",") }, changeable: false),
            row("sql_prepared_statements", { $0.sqlPreparedStatements ? "1" : "0" }),
            row("replica_wait_timeout", { seconds($0.replicaWaitTimeout) }),
            row("replica_ban_time", { seconds($0.replicaBanTime) }),
            row("replica_balance", { $0.replicaBalance.rawValue }),
            row("auth_failure_delay", { seconds($0.authFailureDelay) }),
            row("dns_max_ttl", { seconds($0.dnsMaxTTL) }),
            row("dns_nxdomain_ttl", { seconds($0.dnsNXDomainTTL) }),
            row("dns_hosts_file", { $0.dnsHostsFile ?? "" }),
            row("user", { $0.user ?? "" }, changeable: false),
            row("so_reuseport", { $0.soReuseport ? "1" : "0" }, changeable: false),
            row("logfile", { $0.logfile ?? "" }),
            row("pidfile", { $0.pidfile ?? "" }, changeable: false),
        ]
    }
}
