import PostgresWire
import SluiceConfig
import SluiceCore
import SluiceIO

/// What the admin console shows of clients and servers, copied on the worker that owns them.
struct AdminSnapshot {
    struct Client {
        let id: String
        /// The number in `id`, PgBouncer 1.25's `id` column and what KILL_CLIENT takes.
        let number: UInt64
        let user: String
        let database: String
        /// PgBouncer's words: active, waiting, idle (our own: login). A client held by PAUSE or
        /// waiting for a replica to catch up is waiting.
        let state: String
        /// Its named prepared statements, protocol and SQL level.
        let preparedStatements: Int
        let address: String
        let port: String
        let connectedAt: Double
        let stateSeconds: Double
        let link: String?
        let tls: Bool
        let applicationName: String
        /// The pool it is in: the one it waits for or whose server it holds, else its own.
        let poolKey: PoolKey?

        init(_ client: ClientConnection, now: Double) {
            id = client.id.description
            number = client.id.value
            preparedStatements = client.statements.count + client.sqlStatements.count
            user = client.identity?.user ?? ""
            database = client.identity?.database ?? ""
            switch client.state {
            case .linked(let server): state = "active"; link = server.id.description; poolKey = server.poolKey
            case .waiting(let key): state = "waiting"; link = nil; poolKey = key
            case .idle:
                let held = client.worker.heldClients[client.id] != nil || client.split?.catchUpDeadline != nil
                state = held ? "waiting" : "idle"; link = nil; poolKey = client.poolKey
            case .admin: state = "idle"; link = nil; poolKey = client.poolKey
            case .loggingIn, .closed: state = "login"; link = nil; poolKey = client.poolKey
            }
            (address, port) = Worker.address(ofPeer: client.peer) ?? (client.peer, "0")
            connectedAt = client.connectedAt
            stateSeconds = now - client.stateSince
            tls = client.tlsSession != nil
            applicationName = client.identity?.parameters.first { $0.name == "application_name" }?.value ?? ""
        }
    }

    struct Server {
        let id: String
        let number: UInt64
        /// Sluice's statements prepared on it.
        let preparedStatements: Int
        let key: PoolKey
        /// active, idle, login.
        let state: String
        let address: String
        let port: Int
        let connectedAt: Double
        let idleSeconds: Double
        let remotePID: Int32
        let link: String?
        let tls: Bool
        let closeNeeded: Bool

        init(_ server: ServerConnection, now: Double) {
            id = server.id.description
            number = server.id.value
            preparedStatements = server.statements.count
            key = server.poolKey
            switch server.state {
            case .linked(let client): state = "active"; link = client.id.description
            case .idle: state = "idle"; link = nil
            case .internalQuery: state = "active"; link = nil
            case .connecting, .requestingTLS, .securing, .loggingIn, .closed: state = "login"; link = nil
            }
            address = server.remote?.host ?? server.host
            port = server.port
            connectedAt = server.connectedAt
            idleSeconds = state == "idle" ? now - server.idleSince : 0
            remotePID = server.backendKey.processID
            tls = server.connection?.security != nil
            closeNeeded = server.closeNeeded
        }
    }

    var clients: [Client] = []
    var servers: [Server] = []

    init() {}

    init(merging parts: [AdminSnapshot]) {
        clients = parts.flatMap(\.clients).sorted { $0.connectedAt < $1.connectedAt }
        servers = parts.flatMap(\.servers).sorted { $0.connectedAt < $1.connectedAt }
    }
}

/// The console's result sets. Columns that mean what PgBouncer's mean carry its names, in its
/// order, so that exporters and dashboards written for PgBouncer read them; Sluice's own come
/// after them.
enum AdminTables {
    /// SHOW CLIENTS and SHOW SERVERS share PgBouncer 1.25's columns, in its order.
    static let connectionColumns: [ResultSet.Column] = [
            .init("type", .text), .init("user", .text), .init("database", .text), .init("replication", .text), .init("state", .text),
            .init("addr", .text), .init("port", .int4), .init("local_addr", .text), .init("local_port", .int4),
            .init("connect_time", .text), .init("request_time", .text), .init("wait", .int4),
            .init("wait_us", .int4), .init("close_needed", .int4), .init("ptr", .text), .init("link", .text),
            .init("remote_pid", .int4), .init("tls", .text), .init("application_name", .text),
            .init("prepared_statements", .int4), .init("id", .int8),
    ]

    static func clients(_ snapshot: AdminSnapshot) -> ResultSet {
        var table = ResultSet(connectionColumns)
        for client in snapshot.clients {
            let waited = client.state == "waiting" ? client.stateSeconds : 0
            table.append([
                "C", client.user, client.database, "no", client.state, client.address, client.port, nil, nil,
                WallClock.text(client.connectedAt), WallClock.text(WallClock.now() - client.stateSeconds),
                String(Int(waited)), String(Int((waited - waited.rounded(.down)) * 1_000_000)), "0", client.id,
                client.link ?? "", "0", client.tls ? "TLS" : "", client.applicationName,
                String(client.preparedStatements), String(client.number),
            ])
        }
        return table
    }

    static func servers(_ snapshot: AdminSnapshot) -> ResultSet {
        var table = ResultSet(connectionColumns + [.init("role", .text)])
        for server in snapshot.servers {
            table.append([
                "S", server.key.user, server.key.database, "no", server.state, server.address, String(server.port), nil, nil,
                WallClock.text(server.connectedAt), WallClock.text(WallClock.now() - server.idleSeconds),
                "0", "0", server.closeNeeded ? "1" : "0", server.id, server.link ?? "", String(server.remotePID), server.tls ? "TLS" : "", "",
                String(server.preparedStatements), String(server.number),
                server.key.host == 0 ? "primary" : "replica\(server.key.host)",
            ])
        }
        return table
    }

    static func databases(_ configuration: Configuration, pools: [PoolOverview], paused: (String) -> Bool, disabled: Set<String>) -> ResultSet {
        var table = ResultSet([
            .init("name", .text), .init("host", .text), .init("port", .int4), .init("database", .text),
            .init("force_user", .text), .init("pool_size", .int4), .init("min_pool_size", .int4),
            .init("reserve_pool", .int4), .init("pool_mode", .text), .init("max_connections", .int4),
            .init("current_connections", .int4), .init("paused", .int4), .init("disabled", .int4),
            .init("replicas", .text), .init("read_write_split", .int4), .init("replica_alias", .text),
        ])
        for name in configuration.databases.keys.sorted() {
            guard let entry = configuration.database(named: name) else { continue }
            let current = pools.filter { $0.key.database == name }.reduce(0) { $0 + $1.idle + $1.active + $1.opening }
            table.append([
                name, entry.host, String(entry.port), entry.serverDatabaseName, entry.user,
                String(configuration.poolSize(for: entry)), String(configuration.minPoolSize(for: entry)),
                String(configuration.reservePoolSize(for: entry)), entry.poolMode?.rawValue,
                String(configuration.maxDBConnections(for: entry)), String(current), paused(name) ? "1" : "0", disabled.contains(name) ? "1" : "0",
                entry.replicas.map { "\($0.host):\($0.port ?? entry.port)" }.joined(separator: ","),
                entry.splitsReadsAndWrites ? "1" : "0", entry.replicaAlias,
            ])
        }
        return table
    }

    /// SHOW STATS (totals and averages), STATS_TOTALS or STATS_AVERAGES; averages are per
    /// second over the last stats_period, times per transaction or query, in microseconds.
    static func stats(_ subject: String, totals: [String: TrafficCounters], period: [String: TrafficCounters], seconds: Double) -> ResultSet {
        let totalNames = ["xact_count", "query_count", "received", "sent", "xact_time", "query_time", "wait_time"]
        let averageNames = ["xact_count", "query_count", "recv", "sent", "xact_time", "query_time", "wait_time"]
        var columns: [ResultSet.Column] = [.init("database", .text)]
        switch subject {
        case "STATS":
            columns += totalNames.map { .init("total_\($0)", .numeric) } + averageNames.map { .init("avg_\($0)", .numeric) }
        default:
            let plain = ["xact_count", "query_count", "bytes_received", "bytes_sent", "xact_time", "query_time", "wait_time"]
            columns += plain.map { .init($0, .numeric) }
        }
        var table = ResultSet(columns)
        for name in totals.keys.sorted() {
            let total = totals[name]!
            let totalValues = [total.transactions, total.queries, total.bytesReceived, total.bytesSent,
                               total.transactionMicroseconds, total.queryMicroseconds, total.waitMicroseconds].map(String.init)
            let recent = period[name] ?? TrafficCounters()
            let perSecond = { (value: Int) in String(Int((Double(value) / seconds).rounded())) }
            let per = { (value: Int, count: Int) in String(count == 0 ? 0 : value / count) }
            let averageValues = [perSecond(recent.transactions), perSecond(recent.queries), perSecond(recent.bytesReceived),
                                 perSecond(recent.bytesSent), per(recent.transactionMicroseconds, recent.transactions),
                                 per(recent.queryMicroseconds, recent.queries), per(recent.waitMicroseconds, recent.transactions)]
            switch subject {
            case "STATS": table.append([name] + totalValues + averageValues)
            case "STATS_TOTALS": table.append([name] + totalValues)
            default: table.append([name] + averageValues)
            }
        }
        return table
    }

    static func users(_ configuration: Configuration) -> ResultSet {
        var table = ResultSet([.init("name", .text), .init("pool_mode", .text), .init("max_user_connections", .int4)])
        for name in configuration.users.keys.sorted() {
            let user = configuration.users[name]
            table.append([name, user?.poolMode?.rawValue, String(configuration.maxUserConnections(for: name))])
        }
        return table
    }

    static func lists(_ snapshot: AdminSnapshot, configuration: Configuration, pools: [PoolOverview],
                      dns: (names: Int, lookups: Int, pending: Int)) -> ResultSet {
        var table = ResultSet([.init("list", .text), .init("items", .int4)])
        let counts: [(String, Int)] = [
            ("databases", configuration.databases.count), ("users", configuration.users.count), ("pools", pools.filter { $0.key.host == 0 }.count),
            ("free_clients", 0), ("used_clients", snapshot.clients.count), ("login_clients", snapshot.clients.filter { $0.state == "login" }.count),
            ("free_servers", 0), ("used_servers", snapshot.servers.count), ("dns_names", dns.names), ("dns_zones", 0),
            ("dns_queries", dns.lookups), ("dns_pending", dns.pending),
        ]
        for (name, count) in counts { table.append([name, String(count)]) }
        return table
    }

    static func state(stopping: Bool, paused: Bool) -> ResultSet {
        var table = ResultSet([.init("key", .text), .init("value", .text)])
        table.append(["active", stopping ? "no" : "yes"])
        table.append(["paused", paused ? "yes" : "no"])
        table.append(["suspended", "no"])
        return table
    }

    static func config(_ settings: Settings) -> ResultSet {
        var table = ResultSet([.init("key", .text), .init("value", .text), .init("default", .text), .init("changeable", .text)])
        let defaults = Settings()
        for (key, value, defaultValue, changeable) in AdminConfigRows.rows(settings, defaults: defaults) {
            table.append([key, value, defaultValue, changeable ? "yes" : "no"])
        }
        return table
    }
}
