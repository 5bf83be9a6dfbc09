import PostgresWire
import SluiceConfig
import SluiceCore

/// SHOW POOLS and SHOW REPLICAS. A database with `replicas=` has one pool per backend host
/// inside Sluice; SHOW POOLS folds them into PgBouncer's one row per (database, user), which
/// is what exporters label their series by, and SHOW REPLICAS shows each replica.
extension AdminTables {
    static func pools(_ pools: [PoolOverview], _ snapshot: AdminSnapshot, configuration: Configuration,
                      replicaSets: [String: ReplicaSet]) -> ResultSet {
        var table = ResultSet([
            .init("database", .text), .init("user", .text), .init("cl_active", .int4), .init("cl_waiting", .int4),
            .init("cl_active_cancel_req", .int4), .init("cl_waiting_cancel_req", .int4), .init("sv_active", .int4),
            .init("sv_active_cancel", .int4), .init("sv_being_canceled", .int4), .init("sv_idle", .int4),
            .init("sv_used", .int4), .init("sv_tested", .int4), .init("sv_login", .int4), .init("maxwait", .int4),
            .init("maxwait_us", .int4), .init("pool_mode", .text),
            .init("host", .text), .init("role", .text), .init("reads_routed", .int8), .init("replica_lag_bytes", .int8),
        ])
        let hostsByPool = Dictionary(grouping: pools) { PoolKey(database: $0.key.database, user: $0.key.user) }
        for pool in pools where pool.key.host == 0 {
            let key = pool.key
            let hosts = hostsByPool[key] ?? [pool]
            let clients = snapshot.clients.filter { $0.poolKey == key }
            let waiting = clients.filter { $0.state == "waiting" }
            let longestWait = waiting.map(\.stateSeconds).max() ?? 0
            let entry = configuration.database(named: key.database)
            let replicaSet = replicaSets[key.database]
            let reads = replicaSet.map { String($0.replicas.reduce(0) { $0 + $1.readsRouted }) }
            let lag = replicaSet.flatMap { set in set.replicas.indices.compactMap { set.lagBytes(host: $0 + 1) }.max() }
            table.append([
                key.database, key.user,
                String(clients.count - waiting.count), String(waiting.count),
                "0", "0", String(hosts.reduce(0) { $0 + $1.active }), "0", "0", String(hosts.reduce(0) { $0 + $1.idle }),
                "0", "0", String(hosts.reduce(0) { $0 + $1.opening }),
                String(Int(longestWait)), String(Int((longestWait - longestWait.rounded(.down)) * 1_000_000)),
                (entry.map { configuration.poolMode(database: $0, user: key.user) } ?? configuration.settings.poolMode).rawValue,
                entry.map { hostText($0.address(ofHost: 0)) }, replicaSet == nil ? "primary" : "split", reads, lag.map(String.init),
            ])
        }
        return table
    }

    /// One row per replica of every database with `replicas=`: what the watch last learnt of
    /// it, and its servers summed over the database's users.
    static func replicas(_ pools: [PoolOverview], configuration: Configuration, replicaSets: [String: ReplicaSet],
                         now: Double) -> ResultSet {
        var table = ResultSet([
            .init("database", .text), .init("host", .text), .init("role", .text), .init("state", .text),
            .init("lag_bytes", .int8), .init("lag_seconds", .numeric), .init("reads_routed", .int8), .init("bans", .int8),
            .init("outstanding", .int4), .init("sv_active", .int4), .init("sv_idle", .int4), .init("sv_login", .int4),
        ])
        let lagLimit = configuration.settings.maxReplicaLag
        for database in replicaSets.keys.sorted() {
            guard let set = replicaSets[database], let entry = configuration.database(named: database) else { continue }
            for (index, replica) in set.replicas.enumerated() {
                let host = index + 1
                let servers = pools.filter { $0.key.database == database && $0.key.host == host }
                table.append([
                    database, hostText(entry.address(ofHost: host)), "replica\(host)",
                    set.condition(host: host, now: now, lagLimit: lagLimit).rawValue,
                    set.lagBytes(host: host).map(String.init), replica.replayed == nil ? nil : String(replica.secondsBehind),
                    String(replica.readsRouted), String(replica.bans), String(replica.outstanding),
                    String(servers.reduce(0) { $0 + $1.active }), String(servers.reduce(0) { $0 + $1.idle }),
                    String(servers.reduce(0) { $0 + $1.opening }),
                ])
            }
        }
        return table
    }

    private static func hostText(_ address: (host: String?, port: Int)) -> String {
        "\(address.host ?? "/tmp"):\(address.port)"
    }
}
