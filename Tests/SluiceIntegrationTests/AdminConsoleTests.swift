import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// The admin console over psql and the raw client: SHOW after known traffic, who may run
    /// what, and the commands that change the running pooler.
    @Suite
    struct AdminConsoleTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        func sluice(_ settings: [String: String] = [:]) throws -> SluiceInstance {
            var all = ["pool_mode": "transaction", "default_pool_size": "2", "admin_users": "admin", "stats_users": "watcher",
                       "auth_failure_delay": "0"]
            all.merge(settings) { _, new in new }
            return try SluiceInstance(cluster: cluster, settings: all,
                                      userlist: [("app", password), ("admin", "admin-secret"), ("watcher", "watcher-secret")])
        }

        func console(_ sluice: SluiceInstance, user: String = "admin", password: String = "admin-secret") throws -> RawClient {
            try sluice.login(user: user, database: "pgbouncer", password: password)
        }

        @Test func showReflectsKnownTraffic() throws {
            let sluice = try sluice()
            let busy = try sluice.login(password: password)
            let idle = try sluice.login(password: password)
            #expect(try busy.query("BEGIN").error == nil)
            #expect(try idle.query("SELECT 1").rows == [["1"]])
            let admin = try console(sluice)
            let pools = try showRows(admin, "POOLS").filter { $0["database"] == "app" }
            #expect(pools.count == 1)
            #expect(pools.first?["user"] == "app")
            #expect(pools.first?["cl_active"] == "2" && pools.first?["cl_waiting"] == "0", "\(pools)")
            #expect(pools.first?["sv_active"] == "1" && pools.first?["sv_idle"] == "1", "\(pools)")
            #expect(pools.first?["pool_mode"] == "transaction" && pools.first?["role"] == "primary")
            let clients = try showRows(admin, "CLIENTS").filter { $0["database"] == "app" }
            #expect(clients.map { $0["state"] ?? "" }.sorted() == ["active", "idle"], "\(clients)")
            let linked = clients.first { $0["state"] == "active" }
            let servers = try showRows(admin, "SERVERS")
            let linkedServer = servers.first { $0["ptr"] == linked?["link"] }
            #expect(linkedServer?["state"] == "active" && linkedServer?["link"] == linked?["ptr"], "\(servers)")
            #expect(servers.filter { $0["database"] == "app" }.count == 2)
            #expect(try showRows(admin, "VERSION").first?["version"]?.hasPrefix("Sluice ") == true)
            #expect(try showRows(admin, "CONFIG").first { $0["key"] == "default_pool_size" }?["value"] == "2")
            #expect(try showRows(admin, "DATABASES").contains { $0["name"] == "*" } == false)
            #expect(try showRows(admin, "LISTS").first { $0["list"] == "pools" }?["items"] == "1")
            #expect(try busy.query("COMMIT").error == nil)
            let after = try showRows(admin, "POOLS").first { $0["database"] == "app" }
            #expect(after?["sv_active"] == "0" && after?["sv_idle"] == "2", "\(String(describing: after))")
        }

        /// As with PgBouncer, user pgbouncer on the Unix socket from the OS user Sluice runs as
        /// is an admin without a password (ops scripts, monitoring agents); over TCP it is not.
        @Test func theOwnerOnTheUnixSocketIsAnAdminWithoutAPassword() throws {
            let sluice = try sluice(["auth_type": "scram-sha-256"])
            let socket = "host=\(sluice.directory) port=\(sluice.port) user=pgbouncer dbname=pgbouncer"
            let version = try Tools.psql(socket, "SHOW VERSION")
            #expect(version.status == 0 && version.stdout.hasPrefix("Sluice "), "\(version.stderr)\(sluice.log())")
            #expect(try Tools.psql(socket, "RELOAD").status == 0, "an admin, not only a stats user")
            let overTCP = try Tools.psql("host=127.0.0.1 port=\(sluice.port) user=pgbouncer dbname=pgbouncer", "SHOW VERSION", password: "guess")
            #expect(overTCP.status != 0 && overTCP.stderr.contains("password authentication failed"), "\(overTCP.stderr)")
            let otherDatabase = try Tools.psql("host=\(sluice.directory) port=\(sluice.port) user=pgbouncer dbname=app", "SELECT 1", password: "guess")
            #expect(otherDatabase.status != 0, "only the console is let in without a password")
        }

        @Test func onlyAdminUsersChangeAndOthersMayNotEnter() throws {
            let sluice = try sluice()
            let watcher = try console(sluice, user: "watcher", password: "watcher-secret")
            #expect(try showRows(watcher, "POOLS").isEmpty)
            let reload = try watcher.query("RELOAD")
            #expect(reload.error?.code == "42501", "\(String(describing: reload.error))")
            let refused = try RawClient(port: sluice.port)
            guard case .refused(let error) = try refused.login(user: "app", database: "pgbouncer", password: password) else {
                Issue.record("app entered the console")
                return
            }
            #expect(error.code == "28000")
            let admin = try console(sluice)
            #expect(try admin.query("RELOAD").error == nil)
            #expect(try admin.query("SHOW NONSENSE").error?.code == "42601")
            #expect(try admin.query("DROP TABLE x").error?.code == "42601")
            // The extended protocol is refused with a clear error.
            let extended = try console(sluice)
            extended.send(ExtendedProtocol.parse("", "SHOW POOLS") + ExtendedProtocol.sync)
            var code: String?
            while let (type, body) = try? extended.readMessage() {
                if type == BackendMessageType.errorResponse { code = ErrorFields(body: body)?.code }
            }
            #expect(code == "08P01")
        }

        @Test func killClientAndShutdown() throws {
            let sluice = try sluice()
            let victim = try sluice.login(password: password)
            let admin = try console(sluice)
            let row = try #require(try showRows(admin, "CLIENTS").first { $0["database"] == "app" })
            // PgBouncer 1.25's columns, in its order; the id column is what KILL_CLIENT takes.
            #expect(row["replication"] == "no" && row["prepared_statements"] == "0", "\(row)")
            let id = try #require(row["id"])
            #expect(UInt64(id) != nil && row["ptr"] == "C-\(id)", "\(row)")
            #expect(try admin.query("KILL_CLIENT \(id)").error == nil)
            let gone = try? victim.query("SELECT 1")
            #expect(gone?.error?.code == "57P01", "\(String(describing: gone))")
            #expect(try admin.query("KILL_CLIENT C-999999").error?.code == "42704")
            #expect(try admin.query("SHUTDOWN").error == nil)
            #expect(eventually(within: 5) { sluice.process.isRunning == false }, "Sluice did not stop")
            #expect(sluice.log().contains("SHUTDOWN from the admin console"))
        }

        @Test func psqlTalksToTheConsole() throws {
            let sluice = try sluice()
            let output = try Tools.psql("host=127.0.0.1 port=\(sluice.port) user=admin dbname=pgbouncer", "SHOW VERSION", password: "admin-secret")
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout.hasPrefix("Sluice "), "\(output.stdout)")
        }
    }
}

extension IntegrationTests {
    /// SHOW STATS and /metrics after known traffic: their transaction counts match pgbench's.
    @Suite
    struct MetricsTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        func value(_ body: String, _ metric: String) -> Double? {
            body.split(separator: "\n").first { $0.hasPrefix(metric + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }

        @Test func metricsAndStatsCountWhatPgbenchDid() throws {
            try Clusters.pgbenchTables(cluster)
            let metricsPort = try FreePort.find()
            let sluice = try SluiceInstance(cluster: cluster, settings: [
                "pool_mode": "transaction", "default_pool_size": "4", "admin_users": "admin",
                "metrics_listen": "127.0.0.1:\(metricsPort)",
            ], userlist: [("app", password), ("admin", "admin-secret")])
            let run = try Tools.pgbench(["-S", "-c", "6", "-j", "2", "-t", "150", "-n", "-h", "127.0.0.1", "-p", String(sluice.port),
                                         "-U", "app", "app"], password: password)
            #expect(run.status == 0, "\(run.stderr)")
            let processed = Tools.pgbenchFigure(run.stdout, "number of transactions actually processed:") ?? 0
            #expect(processed == 900)
            let (status, body) = try scrapeMetrics(metricsPort)
            #expect(status == "200")
            // pgbench's own transactions, plus the one each client's login check sends.
            let transactions = value(body, "sluice_transactions_total{database=\"app\"}") ?? 0
            #expect(transactions >= Double(processed) && transactions <= Double(processed) + 12, "\(transactions)")
            #expect(value(body, "sluice_transaction_duration_seconds_count{database=\"app\"}") == transactions)
            // Six clients, and pgbench's own first connection.
            #expect(value(body, "sluice_logins_total{database=\"app\"}") == 7)
            #expect(body.contains("sluice_pool_servers_idle{database=\"app\",user=\"app\",host=\"primary\"}"), "\(body)")
            #expect(try scrapeMetrics(metricsPort, "/other").status == "404")
            // The console's totals agree.
            let admin = try sluice.login(user: "admin", database: "pgbouncer", password: "admin-secret")
            let totals = try admin.query("SHOW STATS_TOTALS")
            let app = totals.rows.first { $0.first == "app" }
            #expect(app.flatMap { $0[1] }.flatMap(Double.init) == transactions, "\(totals.rows)")
            let stats = try admin.query("SHOW STATS")
            #expect(stats.rows.first { $0.first == "app" }?.count == 15)
        }

        /// Errors are counted by SQLSTATE class: PostgreSQL's (a division by zero, 22; an
        /// unknown table, 42) and Sluice's own (query_timeout, 57).
        @Test func errorsAreCountedBySQLStateClass() throws {
            let metricsPort = try FreePort.find()
            let sluice = try SluiceInstance(cluster: cluster, settings: [
                "pool_mode": "transaction", "metrics_listen": "127.0.0.1:\(metricsPort)", "query_timeout": "1",
            ], userlist: [("app", password)])
            let client = try sluice.login(password: password)
            #expect(try client.query("SELECT 1/0").error?.code == "22012")
            #expect(try client.query("SELECT 1/0").error?.code == "22012")
            #expect(try client.query("SELECT * FROM no_such_table").error?.code == "42P01")
            #expect(try client.query("SELECT 3").error == nil)
            #expect(try client.query("SELECT pg_sleep(5)").error?.code == "57014")
            let (_, body) = try scrapeMetrics(metricsPort)
            #expect(value(body, "sluice_errors_total{database=\"app\",class=\"22\"}") == 2, "\(body)")
            #expect(value(body, "sluice_errors_total{database=\"app\",class=\"42\"}") == 1)
            #expect(value(body, "sluice_errors_total{database=\"app\",class=\"57\"}") == 1)
        }
    }
}

extension IntegrationTests.AdminConsoleTests {
    /// PAUSE waits for the transaction in flight, closes the servers and holds new
    /// transactions; RESUME lets them run, with no client error.
    @Test func pauseWaitsForTransactionsAndHoldsNewOnes() throws {
        let sluice = try sluice(["default_pool_size": "1"])
        let inFlight = try sluice.login(password: password)
        let later = try sluice.login(password: password)
        #expect(try inFlight.query("BEGIN").error == nil)
        let admin = try console(sluice)
        admin.send(FrontendMessage.query("PAUSE"))
        usleep(300_000)
        #expect(try showRows(try console(sluice), "STATE").first { $0["key"] == "paused" }?["value"] == "yes")
        // PAUSE has not answered: the transaction still runs. It may finish.
        #expect(try inFlight.query("SELECT 1").rows == [["1"]])
        #expect(try inFlight.query("COMMIT").error == nil)
        var tag = ""
        while let (type, body) = try admin.readMessage() {
            if type == BackendMessageType.commandComplete { tag = String(decoding: body.dropLast(), as: UTF8.self) }
            if type == BackendMessageType.errorResponse { tag = ErrorFields(body: body)?.message ?? "" }
            if type == BackendMessageType.readyForQuery { break }
        }
        #expect(tag == "PAUSE")
        #expect(try Clusters.backendCount(cluster) == 0, "PAUSE closed the servers")
        // A new transaction waits for RESUME.
        later.send(FrontendMessage.query("SELECT 'after resume'"))
        usleep(300_000)
        let states = try showRows(admin, "CLIENTS").filter { $0["database"] == "app" }.map { $0["state"] ?? "" }
        #expect(states.sorted() == ["idle", "waiting"], "the held client is waiting: \(states)")
        #expect(try admin.query("PAUSE").error?.message == "already paused")
        #expect(try admin.query("RESUME").error == nil)
        #expect(try rows(answering: later) == [["after resume"]])
        #expect(try admin.query("RESUME").error?.message == "pooler is not paused")
    }
}
