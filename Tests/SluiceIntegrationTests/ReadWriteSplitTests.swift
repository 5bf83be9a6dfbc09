import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// Read/write splitting against a real primary and a real streaming replica: reads on the
    /// replica, writes and transactions that may write on the primary, every client reading
    /// its own writes, and reads carrying on when the replica goes away.
    @Suite
    struct ReadWriteSplitTests {
        let primary = Clusters.replicated.primary
        let replica = Clusters.replicated.replica
        let password = Clusters.password

        func sluice(_ settings: [String: String] = [:], database: String = "") throws -> SluiceInstance {
            var all = ["pool_mode": "transaction", "default_pool_size": "4", "max_client_conn": "100",
                       "replica_wait_timeout": "2", "replica_ban_time": "0.5"]
            all.merge(settings) { _, new in new }
            let entry = "app = host=127.0.0.1 port=\(primary.port) dbname=app replicas=127.0.0.1:\(replica.port) replica_alias=app_ro \(database)"
            return try SluiceInstance(cluster: primary, settings: all, userlist: [("app", password)], databases: entry)
        }

        /// True when the client's next autocommit read ran on the replica.
        func readsOnReplica(_ client: RawClient) throws -> Bool {
            try client.query("SELECT pg_is_in_recovery()").rows == [["t"]]
        }

        /// Waits for the watch to have polled the replica: until then reads use the primary.
        func waitForReplica(_ client: RawClient) throws {
            #expect(try eventually(within: 10) { try readsOnReplica(client) }, "reads never reached the replica")
        }

        @Test func readsGoToTheReplicaAndEverythingThatMayWriteToThePrimary() throws {
            let sluice = try sluice()
            let client = try sluice.login(password: password)
            try waitForReplica(client)
            #expect(try client.query("SELECT inet_server_port()").rows == [[String(replica.port)]])
            #expect(try client.query("/* sluice:primary */ SELECT pg_is_in_recovery()").rows == [["f"]])
            #expect(try client.query("SELECT pg_is_in_recovery(), nextval('split_items_id_seq')").rows.first?.first == "f")
            let cte = try client.query("WITH added AS (INSERT INTO split_items (note) VALUES ('cte') RETURNING id) SELECT pg_is_in_recovery() FROM added")
            #expect(cte.rows == [["f"]], "\(String(describing: cte.error))")
            let locked = try client.query("SELECT pg_is_in_recovery() FROM split_items LIMIT 1 FOR UPDATE")
            #expect(locked.rows == [["f"]], "\(String(describing: locked.error))")
            // A plain BEGIN may write later: the primary, for the whole transaction.
            #expect(try client.query("BEGIN").error == nil)
            #expect(try readsOnReplica(client) == false)
            #expect(try client.query("COMMIT").error == nil)
            // BEGIN READ ONLY: the replica, for the whole transaction.
            #expect(try client.query("BEGIN READ ONLY").error == nil)
            #expect(try readsOnReplica(client))
            #expect(try client.query("SELECT inet_server_port()").rows == [[String(replica.port)]])
            #expect(try client.query("COMMIT").error == nil)
            // The extended protocol: decided from the Parse, or from the statement a Bind names.
            client.send(ExtendedProtocol.parse("recovery", "SELECT pg_is_in_recovery()") + ExtendedProtocol.sync)
            while let (type, _) = try client.readMessage(), type != BackendMessageType.readyForQuery {}
            #expect(try eventually(within: 5) { try boundRows(client, "recovery") == ["t"] })
            let log = sluice.terminate()
            #expect(!log.contains("ERROR"), "\(log)")
            #expect(log.contains("database app: "), "the routing counters are logged: \(log)")
        }

        /// SHOW POOLS keeps PgBouncer's one row per database and user, with the replica's
        /// servers and reads folded in; SHOW REPLICAS has the replica's own row.
        @Test func theConsoleShowsOneRowPerPoolAndOnePerReplica() throws {
            let sluice = try sluice(["admin_users": "app"])
            let client = try sluice.login(password: password)
            try waitForReplica(client)
            #expect(try client.query("INSERT INTO split_items (note) VALUES ('console')").error == nil)
            for _ in 1...3 { #expect(try readsOnReplica(client)) }
            let admin = try sluice.login(database: "pgbouncer", password: password)
            let pools = try showRows(admin, "POOLS").filter { $0["database"] == "app" }
            #expect(pools.count == 1, "\(pools)")
            let pool = try #require(pools.first)
            #expect(pool["user"] == "app" && pool["role"] == "split" && pool["host"] == "127.0.0.1:\(primary.port)", "\(pool)")
            #expect(pool["sv_idle"] == "2" && pool["sv_active"] == "0", "a primary and a replica server: \(pool)")
            #expect(Int(pool["reads_routed"] ?? "") ?? 0 >= 3, "\(pool)")
            let replicas = try showRows(admin, "REPLICAS")
            #expect(replicas.count == 1, "\(replicas)")
            let row = try #require(replicas.first)
            #expect(row["database"] == "app" && row["host"] == "127.0.0.1:\(replica.port)" && row["role"] == "replica1", "\(row)")
            #expect(row["state"] == "ready" && row["sv_idle"] == "1" && row["reads_routed"] == pool["reads_routed"], "\(row)")
            #expect(row["lag_bytes"].flatMap { Int($0) } != nil && row["bans"] == "0" && row["outstanding"] == "0", "\(row)")
        }

        func boundRows(_ client: RawClient, _ statement: String) throws -> [String] {
            client.send(ExtendedProtocol.bind(statement: statement) + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            var rows: [String] = []
            while let (type, body) = try client.readMessage() {
                if type == BackendMessageType.dataRow { rows += BackendMessage.decodeDataRow(body).map { $0 ?? "NULL" } }
                if type == BackendMessageType.readyForQuery { break }
            }
            return rows
        }

        /// With replay paused the replica never sees the row: the writer's reads wait, then use
        /// the primary, and always find it, while a client that wrote nothing keeps reading on
        /// the replica. After resuming, the writer's reads come back to the replica.
        @Test func aClientAlwaysReadsItsOwnWrites() throws {
            let sluice = try sluice(["replica_wait_timeout": "0.3"])
            let writer = try sluice.login(password: password)
            let reader = try sluice.login(password: password)
            try waitForReplica(writer)
            try replica.psql("SELECT pg_wal_replay_pause()")
            defer { _ = try? replica.psql("SELECT pg_wal_replay_resume()") }
            for round in 1...5 {
                let note = "paused-\(round)-\(UUID().uuidString)"
                #expect(try writer.query("INSERT INTO split_items (note) VALUES ('\(note)')").error == nil)
                let seen = try writer.query("SELECT count(*), pg_is_in_recovery() FROM split_items WHERE note = '\(note)'")
                #expect(seen.rows == [["1", "f"]], "round \(round): \(seen)")
                #expect(try readsOnReplica(reader), "a client that wrote nothing reads on the replica")
            }
            try replica.psql("SELECT pg_wal_replay_resume()")
            #expect(try eventually(within: 10) { try readsOnReplica(writer) }, "the writer's reads came back to the replica")
        }

        /// With replay paused and the primary moving on, the replica falls more than
        /// max_replica_lag behind: reads go to the primary until it catches up again.
        @Test func aReplicaTooFarBehindGetsNoReads() throws {
            let sluice = try sluice(["max_replica_lag": "8kB"], database: "read_your_writes=off")
            let writer = try sluice.login(password: password)
            let reader = try sluice.login(password: password)
            try waitForReplica(reader)
            try replica.psql("SELECT pg_wal_replay_pause()")
            defer { _ = try? replica.psql("SELECT pg_wal_replay_resume()") }
            let padding = String(repeating: "x", count: 2000)
            for _ in 0..<20 {
                #expect(try writer.query("INSERT INTO split_items (note) VALUES ('\(padding)')").error == nil)
            }
            #expect(try eventually(within: 5) { try !readsOnReplica(reader) }, "a lagging replica kept its reads")
            try replica.psql("SELECT pg_wal_replay_resume()")
            #expect(try eventually(within: 10) { try readsOnReplica(reader) }, "reads came back after it caught up")
        }

        /// The replica stops: reads carry on, on the primary, without an error; once it is
        /// back, reads return to it.
        @Test func readsCarryOnWhenTheReplicaStops() throws {
            let sluice = try sluice()
            let client = try sluice.login(password: password)
            try waitForReplica(client)
            replica.pause()
            var restarted = false
            defer { if !restarted { try? replica.restart() } }
            for _ in 0..<20 {
                let result = try client.query("SELECT 1")
                #expect(result.error == nil && result.rows == [["1"]], "\(String(describing: result.error))")
                usleep(50_000)
            }
            #expect(try readsOnReplica(client) == false)
            try replica.restart()
            restarted = true
            #expect(try eventually(within: 15) { try readsOnReplica(client) }, "\(sluice.log())")
        }

        /// The watch starts with Sluice (as the userlist's user), not with the first login: the
        /// first client's first read already goes to the replica.
        @Test func theFirstReadAfterStartGoesToTheReplica() throws {
            let sluice = try sluice()
            #expect(try eventually(within: 5) { try Clusters.backendCount(replica) >= 1 }, "the watch is connected before any client")
            usleep(200_000)
            let client = try sluice.login(password: password)
            #expect(try readsOnReplica(client), "\(sluice.log())")
        }

        /// A banned replica is probed every replica_poll_interval while banned: once it is back
        /// its first good answer ends the ban, long before replica_ban_time (60 s here).
        @Test func aReplicaThatComesBackGetsReadsAtItsFirstGoodPoll() throws {
            let sluice = try sluice(["replica_ban_time": "60", "replica_poll_interval": "0.2"])
            let client = try sluice.login(password: password)
            try waitForReplica(client)
            replica.pause()
            var restarted = false
            defer { if !restarted { try? replica.restart() } }
            #expect(try eventually(within: 5) { try readsOnReplica(client) == false })
            try replica.restart()
            restarted = true
            let back = Date()
            #expect(try eventually(within: 5) { try readsOnReplica(client) }, "\(sluice.log())")
            print("replica back: reads on it \(String(format: "%.2f", Date().timeIntervalSince(back))) s after it accepted connections")
        }

        /// A RELOAD that changes `replicas=` forgets the old replica: its servers and its watch
        /// close, and reads use the primary until a replica at the new address is polled.
        @Test func reloadingOtherReplicasForgetsTheOldOnes() throws {
            let sluice = try sluice(["admin_users": "admin"])
            let client = try sluice.login(password: password)
            try waitForReplica(client)
            let original = try String(contentsOfFile: sluice.configPath, encoding: .utf8)
            let replicaAddress = "replicas=127.0.0.1:\(replica.port)"
            // The primary as the only "replica": never in recovery, so it gets no reads as one.
            try original.replacingOccurrences(of: replicaAddress, with: "replicas=127.0.0.1:\(primary.port)")
                .write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
            sluice.signal(SIGHUP)
            #expect(eventually(within: 3) { sluice.log().contains("configuration reloaded") })
            #expect(try eventually(within: 5) { try Clusters.backendCount(replica) == 0 }, "the old replica's servers and watch closed")
            for _ in 0..<10 { #expect(try readsOnReplica(client) == false) }

            try original.write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
            sluice.signal(SIGHUP)
            try waitForReplica(client)
        }

        /// The replica alias sends every transaction to a replica, even one that writes (which
        /// the replica refuses).
        @Test func theReplicaAliasReadsOnlyFromReplicas() throws {
            let sluice = try sluice()
            let client = try sluice.login(database: "app_ro", password: password)
            try waitForReplica(client)
            let write = try client.query("INSERT INTO split_items (note) VALUES ('refused')")
            #expect(write.error?.code == "25006", "\(String(describing: write.error))")
            #expect(try client.query("SELECT current_database()").rows == [["app"]])
        }

        @Test func splittingOffSendsEverythingToThePrimary() throws {
            let sluice = try sluice(database: "read_write_split=off")
            let client = try sluice.login(password: password)
            for _ in 0..<5 { #expect(try readsOnReplica(client) == false) }
        }

        /// A Django project with a single DATABASES entry pointing at Sluice: its test suite
        /// writes, updates and reads, sees its reads served by the replica, and every read
        /// after a write is consistent.
        @Test func djangoWithOneDatabaseEntry() throws {
            let sluice = try sluice()
            let project = "\(DriverTests.drivers)/../../../examples/django_rw"
            let output = try ProcessRunner.run(
                "python3", ["manage.py", "test", "--keepdb", "--noinput", "notes"],
                environment: ["SLUICE_HOST": "127.0.0.1", "SLUICE_PORT": String(sluice.port), "SLUICE_DB": "app",
                              "SLUICE_USER": "app", "SLUICE_PASSWORD": password, "EXPECT_REPLICA_READS": "1"],
                timeout: 300, currentDirectory: project)
            #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
            #expect(output.stderr.contains("OK"), "\(output.stderr)")
        }
    }
}
