import Foundation
import SluiceLocalCluster

/// One PostgreSQL per authentication method, started on first use and shared by the suites
/// that need it; the cluster library stops them when the test process exits.
enum Clusters {
    static let password = "app-secret"

    /// pg_hba trusts TCP logins: Sluice logs in without a password.
    static let trust: LocalCluster = start(.trust)
    /// pg_hba asks for SCRAM; the role's password is stored as a SCRAM verifier.
    static let scram: LocalCluster = start(.scramSHA256)
    /// pg_hba asks for md5; the role's password is stored as an md5 hash.
    static let md5: LocalCluster = start(.md5)

    /// ssl = on, and pg_hba accepts the app role over TCP only with TLS (and SCRAM).
    static let tls: LocalCluster = {
        do {
            let files = Certificates.files
            let cluster = try LocalCluster.start(LocalClusterOptions(
                hostAuth: .scramSHA256,
                roles: [(name: "app", password: password, superuser: false)],
                databases: ["app"],
                tls: (files.serverCertificate, files.serverKey)
            ))
            try cluster.psql("ALTER DATABASE app OWNER TO app")
            return cluster
        } catch {
            fatalError("cannot start PostgreSQL with TLS for the integration tests: \(error)")
        }
    }()

    /// A primary (pg_hba trusts TCP logins) and a streaming replica of it, for read/write
    /// splitting; the suite that uses them pauses replay and stops the replica.
    static let replicated: (primary: LocalCluster, replica: LocalCluster) = {
        let primary = start(.trust)
        do {
            // As in production: a commit is flushed, so a replica can replay it at once.
            try primary.psql("ALTER SYSTEM SET synchronous_commit = on")
            try primary.psql("SELECT pg_reload_conf()")
            try primary.psql("CREATE TABLE split_items (id serial PRIMARY KEY, note text); GRANT ALL ON split_items TO app; GRANT ALL ON SEQUENCE split_items_id_seq TO app", database: "app")
            return (primary, try primary.startReplica())
        } catch {
            fatalError("cannot start a PostgreSQL replica for the integration tests: \(error)")
        }
    }()

    /// A trust cluster of the caller's own, to stop and start (stop it when done).
    static func dedicated() -> LocalCluster { start(.trust) }

    /// Two servers on one port, at 127.0.0.1 and 127.0.0.2, for a host name that moves from
    /// the first to the second (as an RDS endpoint does at a failover).
    static let failoverPair: (first: LocalCluster, second: LocalCluster) = {
        let first = start(.trust)
        return (first, start(.trust, address: "127.0.0.2", port: first.port))
    }()

    private static func start(_ auth: LocalClusterOptions.HostAuth, address: String = "127.0.0.1", port: Int? = nil) -> LocalCluster {
        do {
            var options = LocalClusterOptions(
                hostAuth: auth,
                roles: [(name: "app", password: password, superuser: false)],
                databases: ["app"],
                extraSettings: ["max_connections": "200"],
                port: port
            )
            options.listenAddress = address
            let cluster = try LocalCluster.start(options)
            try cluster.psql("ALTER DATABASE app OWNER TO app")
            return cluster
        } catch {
            fatalError("cannot start PostgreSQL for the integration tests: \(error)")
        }
    }

    /// pgbench's tables at scale 1 in `app`, readable and writable by the `app` role.
    static func pgbenchTables(_ cluster: LocalCluster) throws {
        let initialize = try Tools.pgbench(["-i", "-s", "1", "-q", "-h", cluster.socketDirectory, "-p", String(cluster.port), "-U", "postgres", "app"])
        guard initialize.status == 0 else { throw HarnessError("pgbench -i failed: \(initialize.stderr)") }
        _ = try cluster.psql("GRANT ALL ON ALL TABLES IN SCHEMA public TO app", database: "app")
    }

    /// The role's secret as PostgreSQL stores it (a SCRAM verifier or an md5 hash).
    static func storedSecret(_ cluster: LocalCluster, role: String = "app") throws -> String {
        try cluster.psql("SELECT rolpassword FROM pg_authid WHERE rolname = '\(role)'")
    }

    /// Server connections PostgreSQL sees from a role, excluding this query's own.
    static func backendCount(_ cluster: LocalCluster, role: String = "app") throws -> Int {
        Int(try cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = '\(role)'")) ?? -1
    }
}

/// Polls until `condition` holds or `seconds` pass; true if it held.
func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(100_000)
    }
    return try condition()
}

/// Runs `body` on `count` threads at once and returns the results in index order.
func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let results = Locked<[Int: T]>([:])
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            let value = body(index)
            results.update { $0[index] = value }
            group.leave()
        }.start()
    }
    group.wait()
    return results.read { dictionary in (0..<count).map { dictionary[$0]! } }
}

final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func update(_ body: (inout Value) -> Void) { lock.lock(); body(&value); lock.unlock() }
    func read<R>(_ body: (Value) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(value) }
}
