import Testing
@testable import SluiceConfig

@Suite struct SettingsTests {
    @Test func defaultsArePgBouncers() {
        let s = Settings()
        #expect(s.listenAddresses == [])
        #expect(s.listenPort == 6432)
        #expect(s.unixSocketDir == "/tmp")
        #expect(s.authType == .md5)
        #expect(s.authFile == nil)
        #expect(s.adminUsers == [])
        #expect(s.statsUsers == [])
        #expect(s.poolMode == .session)
        #expect(s.defaultPoolSize == 20)
        #expect(s.minPoolSize == 0)
        #expect(s.reservePoolSize == 0)
        #expect(s.reservePoolTimeout == 5)
        #expect(s.maxClientConn == 100)
        #expect(s.maxDBConnections == 0)
        #expect(s.maxUserConnections == 0)
        #expect(s.serverResetQuery == "DISCARD ALL")
        #expect(s.serverResetQueryAlways == false)
        #expect(s.serverCheckQuery == "select 1")
        #expect(s.serverCheckDelay == 30)
        #expect(s.serverConnectTimeout == 15)
        #expect(s.serverLoginRetry == 15)
        #expect(s.serverLifetime == 3600)
        #expect(s.serverIdleTimeout == 600)
        #expect(s.queryTimeout == 0)
        #expect(s.queryWaitTimeout == 120)
        #expect(s.clientIdleTimeout == 0)
        #expect(s.clientLoginTimeout == 60)
        #expect(s.idleTransactionTimeout == 0)
        #expect(s.ignoreStartupParameters == [])
        #expect(s.trackExtraParameters == ["IntervalStyle"])
        #expect(s.maxPacketSize == 2_147_483_647)
        #expect(s.packetBufferSize == 4096)
        #expect(s.logConnections && s.logDisconnections && s.logPoolerErrors)
        #expect(s.logfile == nil)
        #expect(s.pidfile == nil)
        #expect(s.threads == 1)
        #expect(s.clientTLSSSLMode == "disable")
        #expect(s.serverTLSSSLMode == "prefer")
        #expect(s.clientTLSKeyFile == nil && s.serverTLSCAFile == nil)
        #expect(s.clientTLSProtocols == "secure" && s.serverTLSCiphers == "default")
    }

    @Test func everySettingIsRead() throws {
        let s = try settings("""
            listen_addr = 127.0.0.1, ::1
            listen_port = 7432
            unix_socket_dir = /var/run/sluice
            admin_users = alice, bob
            stats_users = carol
            pool_mode = transaction
            default_pool_size = 30
            min_pool_size = 5
            reserve_pool_size = 4
            reserve_pool_timeout = 2.5
            max_client_conn = 1000
            max_db_connections = 60
            max_user_connections = 70
            server_reset_query = RESET ALL
            server_reset_query_always = yes
            server_check_query = SELECT 2
            server_check_delay = 10
            server_connect_timeout = 3
            server_login_retry = 1
            server_lifetime = 1h
            server_idle_timeout = 5min
            query_timeout = 90
            query_wait_timeout = 500ms
            client_idle_timeout = 1d
            client_login_timeout = 20s
            idle_transaction_timeout = 7
            ignore_startup_parameters = extra_float_digits, Search_Path
            track_extra_parameters = IntervalStyle, search_path
            max_packet_size = 1048576
            pkt_buf = 8192
            log_connections = 0
            log_disconnections = off
            log_pooler_errors = false
            logfile = /var/log/sluice.log
            pidfile = /run/sluice.pid
            threads = 4
            client_tls_sslmode = require
            client_tls_key_file = /k.pem
            client_tls_cert_file = /c.pem
            client_tls_ca_file = /ca.pem
            client_tls_protocols = tlsv1.3
            client_tls_ciphers = fast
            server_tls_sslmode = verify-full
            server_tls_key_file = /sk.pem
            server_tls_cert_file = /sc.pem
            server_tls_ca_file = /sca.pem
            server_tls_protocols = all
            server_tls_ciphers = normal
            """)
        #expect(s.listenAddresses == ["127.0.0.1", "::1"])
        #expect(s.listenPort == 7432)
        #expect(s.unixSocketDir == "/var/run/sluice")
        #expect(s.authType == .trust)
        #expect(s.adminUsers == ["alice", "bob"])
        #expect(s.statsUsers == ["carol"])
        #expect(s.poolMode == .transaction)
        #expect(s.defaultPoolSize == 30)
        #expect(s.minPoolSize == 5)
        #expect(s.reservePoolSize == 4)
        #expect(s.reservePoolTimeout == 2.5)
        #expect(s.maxClientConn == 1000)
        #expect(s.maxDBConnections == 60)
        #expect(s.maxUserConnections == 70)
        #expect(s.serverResetQuery == "RESET ALL")
        #expect(s.serverResetQueryAlways)
        #expect(s.serverCheckQuery == "SELECT 2")
        #expect(s.serverCheckDelay == 10)
        #expect(s.serverConnectTimeout == 3)
        #expect(s.serverLoginRetry == 1)
        #expect(s.serverLifetime == 3600)
        #expect(s.serverIdleTimeout == 300)
        #expect(s.queryTimeout == 90)
        #expect(s.queryWaitTimeout == 0.5)
        #expect(s.clientIdleTimeout == 86400)
        #expect(s.clientLoginTimeout == 20)
        #expect(s.idleTransactionTimeout == 7)
        #expect(s.ignoreStartupParameters == ["extra_float_digits", "search_path"])
        #expect(s.trackExtraParameters == ["IntervalStyle", "search_path"])
        #expect(s.maxPacketSize == 1_048_576)
        #expect(s.packetBufferSize == 8192)
        #expect(!s.logConnections && !s.logDisconnections && !s.logPoolerErrors)
        #expect(s.logfile == "/var/log/sluice.log")
        #expect(s.pidfile == "/run/sluice.pid")
        #expect(s.threads == 4)
        #expect(s.clientTLSSSLMode == "require")
        #expect(s.clientTLSKeyFile == "/k.pem" && s.clientTLSCertFile == "/c.pem" && s.clientTLSCAFile == "/ca.pem")
        #expect(s.clientTLSProtocols == "tlsv1.3" && s.clientTLSCiphers == "fast")
        #expect(s.serverTLSSSLMode == "verify-full")
        #expect(s.serverTLSKeyFile == "/sk.pem" && s.serverTLSCertFile == "/sc.pem" && s.serverTLSCAFile == "/sca.pem")
        #expect(s.serverTLSProtocols == "all" && s.serverTLSCiphers == "normal")
    }

    @Test func keysAreCaseInsensitiveAndSluiceSectionIsASynonym() throws {
        let (config, warnings) = try parse("[SLUICE]\nAUTH_TYPE = Trust\nListen_Port = 7000\nPool_Mode = STATEMENT\n")
        #expect(warnings == [])
        #expect(config.settings.listenPort == 7000)
        #expect(config.settings.authType == .trust)
        #expect(config.settings.poolMode == .statement)
    }

    @Test func emptyValuesDisableOptionalPaths() throws {
        let s = try settings("unix_socket_dir =\nlogfile =\npidfile =\nlisten_addr = *\nserver_reset_query =\n")
        #expect(s.unixSocketDir == nil)
        #expect(s.logfile == nil && s.pidfile == nil)
        #expect(s.listenAddresses == ["*"])
        #expect(s.serverResetQuery == "")
    }

    @Test(arguments: [("1", true), ("on", true), ("YES", true), ("true", true),
                      ("0", false), ("Off", false), ("no", false), ("FALSE", false)])
    func booleans(text: String, value: Bool) throws {
        #expect(try Values.bool(text) == value)
    }

    @Test(arguments: [("15", 15.0), ("1.5", 1.5), ("0", 0), ("250ms", 0.25), ("15s", 15), ("2 min", 120),
                      ("3h", 10800), ("1d", 86400), ("10MS", 0.01)])
    func durations(text: String, seconds: Double) throws {
        #expect(try Values.seconds(text) == seconds)
    }

    @Test(arguments: ["", "-1", "abc", "5 weeks", "1.2.3", "s", "inf"])
    func invalidDurations(text: String) {
        #expect(throws: InvalidValue.self) { try Values.seconds(text) }
    }

    @Test func listsTrimAndDropEmptyItems() {
        #expect(Values.list(" a , b,,c ,") == ["a", "b", "c"])
        #expect(Values.list("") == [])
    }

    @Test func everyAuthTypeParses() throws {
        for type in AuthType.allCases where type != .hba {
            let text = "[pgbouncer]\nauth_type = \(type.rawValue)\nauth_file = /u.txt\n"
            #expect(try parse(text, files: ["/u.txt": ""]).0.settings.authType == type)
        }
    }

    @Test func hbaNeedsItsFile() {
        let found = errors("[pgbouncer]\nauth_type = hba\n")
        #expect(found.count == 1)
        #expect(found.first?.description.hasPrefix("/etc/sluice/pgbouncer.ini:2: auth_type hba needs auth_hba_file") == true, "\(found)")
    }

    @Test func hbaRulesParseAndMatchTheFirstLine() throws {
        let (config, warnings) = try parse("[pgbouncer]\nauth_type = hba\nauth_hba_file = hba.conf\nauth_file = /u.txt\n", files: [
            "/u.txt": "",
            "/etc/sluice/hba.conf": """
                # comments and blank lines are skipped

                local     all      all                      trust
                hostssl   app      app     10.0.0.0/8       cert
                host      app,two  app     10.0.0.0 255.0.0.0 scram-sha-256
                host      all      mallory all              reject
                hostnossl all      all     ::1/128          md5
                host      all      all     0.0.0.0/0        password
                """,
        ])
        #expect(warnings == [])
        let hba = config.hostBasedAuthentication
        #expect(hba.method(database: "app", user: "x", origin: .unixSocket) == .trust)
        #expect(hba.method(database: "app", user: "app", origin: .tcp(address: "10.1.2.3", tls: true)) == .cert)
        #expect(hba.method(database: "app", user: "app", origin: .tcp(address: "10.1.2.3", tls: false)) == .scramSHA256)
        #expect(hba.method(database: "two", user: "app", origin: .tcp(address: "10.9.9.9", tls: true)) == .scramSHA256)
        #expect(hba.method(database: "app", user: "mallory", origin: .tcp(address: "10.1.2.3", tls: false)) == .reject)
        #expect(hba.method(database: "app", user: "bob", origin: .tcp(address: "::1", tls: false)) == .md5)
        #expect(hba.method(database: "app", user: "bob", origin: .tcp(address: "::1", tls: true)) == nil, "no IPv6 line for TLS")
        #expect(hba.method(database: "app", user: "bob", origin: .tcp(address: "192.168.1.1", tls: false)) == .password)
    }

    @Test func badHBALinesAreErrorsWithTheirLine() {
        let found = errors("[pgbouncer]\nauth_type = hba\nauth_hba_file = /hba.conf\n", files: [
            "/hba.conf": "host all all 10.0.0.0/33 md5\nhost all all 10.0.0.0/8 peer\nlocalish all all trust\nhost all all\n",
        ])
        #expect(found.count == 4, "\(found)")
        #expect(found.first?.description.hasPrefix("/hba.conf:1: auth_hba_file: invalid address") == true, "\(found)")
    }

    @Test func invalidValuesAreErrorsNamingFileLineKeyAndAlternatives() {
        let found = errors("""
            [pgbouncer]
            auth_type = trust
            pool_mode = sesion
            listen_port = 70000
            threads = 65
            default_pool_size = -1
            log_connections = maybe
            query_timeout = soon
            auth_type = ldap
            client_tls_sslmode = mandatory
            pkt_buf = 10
            max_client_conn = 0
            """)
        #expect(found.map(\.description) == [
            #"/etc/sluice/pgbouncer.ini:3: pool_mode: invalid value "sesion"; expected session, transaction or statement"#,
            #"/etc/sluice/pgbouncer.ini:4: listen_port: invalid value "70000"; expected an integer from 1 to 65535"#,
            #"/etc/sluice/pgbouncer.ini:5: threads: invalid value "65"; expected an integer from 1 to 64"#,
            #"/etc/sluice/pgbouncer.ini:6: default_pool_size: invalid value "-1"; expected a non-negative integer"#,
            #"/etc/sluice/pgbouncer.ini:7: log_connections: invalid value "maybe"; expected a boolean (0, 1, on, off, yes, no, true or false)"#,
            #"/etc/sluice/pgbouncer.ini:8: query_timeout: invalid value "soon"; expected a non-negative number of seconds, optionally with a unit (ms, s, min, h or d)"#,
            #"/etc/sluice/pgbouncer.ini:9: auth_type: invalid value "ldap"; expected trust, any, plain, md5, scram-sha-256, hba or cert"#,
            #"/etc/sluice/pgbouncer.ini:10: client_tls_sslmode: invalid value "mandatory"; expected disable, allow, prefer, require, verify-ca or verify-full"#,
            #"/etc/sluice/pgbouncer.ini:11: pkt_buf: invalid value "10"; expected an integer from 512 to 2147483647"#,
            #"/etc/sluice/pgbouncer.ini:12: max_client_conn: invalid value "0"; expected a positive integer"#,
        ])
        #expect(found.allSatisfy { $0.severity == .error })
    }

    /// A key neither PgBouncer nor Sluice knows is an error, with the likely intended key; a
    /// PgBouncer key Sluice does not apply yet is a warning.
    @Test func unknownKeysAreErrorsWithASuggestion() throws {
        let found = errors("""
            [pgbouncer]
            auth_type = trust
            listen_prot = 1234
            tcp_keepalive = 1
            defualt_pool_size = 3
            completely_made_up = 1
            """)
        #expect(found.map(\.description) == [
            #"/etc/sluice/pgbouncer.ini:3: unknown setting "listen_prot"; did you mean "listen_port"?"#,
            #"/etc/sluice/pgbouncer.ini:5: unknown setting "defualt_pool_size"; did you mean "default_pool_size"?"#,
            #"/etc/sluice/pgbouncer.ini:6: unknown setting "completely_made_up""#,
        ])
        #expect(found.allSatisfy { $0.severity == .error })
        let (_, warnings) = try parse("[pgbouncer]\nauth_type = trust\ntcp_keepalive = 1\n")
        #expect(warnings.map(\.description) == ["/etc/sluice/pgbouncer.ini:3: tcp_keepalive: PgBouncer setting not supported by Sluice; ignored"])
    }

    /// The list that suggestions come from names only keys `apply` takes.
    @Test func everyListedKeyIsTaken() {
        for key in Settings.appliedKeys {
            var settings = Settings()
            let outcome = try? settings.apply(key: key, value: "1")
            #expect(outcome != .unknown && outcome != .unsupported, "\(key)")
        }
    }

    @Test func laterValuesWin() throws {
        #expect(try settings("listen_port = 1\nlisten_port = 2\n").listenPort == 2)
    }
}
