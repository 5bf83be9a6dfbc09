import Foundation
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// Session mode in front of a real PostgreSQL, driven by psql and pgbench.
    @Suite
    struct SessionPoolingTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        func sluice(_ settings: [String: String] = [:]) throws -> SluiceInstance {
            try SluiceInstance(cluster: cluster, settings: settings, userlist: [("app", password)])
        }

        @Test func queriesAndCopyBothWays() throws {
            let sluice = try sluice()
            let connection = sluice.connectionString(user: "app", database: "app")
            let answer = try Tools.psql(connection, "SELECT current_user, current_database(), 6 * 7", password: password)
            #expect(answer.status == 0, "\(answer.stderr)")
            #expect(answer.stdout == "app|app|42\n")

            let dataFile = "\(sluice.directory)/rows.csv"
            let rows = (1...5000).map { "\($0),name \($0)" }.joined(separator: "\n") + "\n"
            try rows.write(toFile: dataFile, atomically: true, encoding: .utf8)
            let exportFile = "\(sluice.directory)/export.csv"
            let script = """
                DROP TABLE IF EXISTS copied;
                CREATE TABLE copied (id int PRIMARY KEY, name text);
                \\copy copied FROM '\(dataFile)' WITH (FORMAT csv)
                SELECT count(*), sum(id) FROM copied;
                \\copy (SELECT * FROM copied ORDER BY id) TO '\(exportFile)' WITH (FORMAT csv)
                """
            let copy = try Tools.psqlScript(connection, script, password: password)
            #expect(copy.status == 0, "\(copy.stderr)")
            #expect(copy.stdout.contains("5000|12502500"))
            #expect(try String(contentsOfFile: exportFile, encoding: .utf8) == rows)
        }

        @Test func hundredMegabyteResult() throws {
            let sluice = try sluice()
            let output = try Tools.psql(sluice.connectionString(user: "app", database: "app"),
                                        "SELECT repeat('x', 1000) || i FROM generate_series(1, 100000) AS i",
                                        password: password, timeout: 300)
            #expect(output.status == 0, "\(output.stderr)")
            let lines = output.stdout.split(separator: "\n")
            #expect(lines.count == 100_000)
            #expect(lines.last == Substring(String(repeating: "x", count: 1000) + "100000"))
            #expect(output.stdout.utf8.count > 100_000_000)
        }

        @Test func pgbenchTwentyClientsWithoutErrors() throws {
            let sluice = try sluice(["default_pool_size": "20"])
            let initialize = try Tools.pgbench(["-i", "-s", "1", "-q", "-h", cluster.socketDirectory, "-p", String(cluster.port), "-U", "postgres", "app"])
            #expect(initialize.status == 0, "\(initialize.stderr)")
            _ = try cluster.psql("GRANT ALL ON ALL TABLES IN SCHEMA public TO app", database: "app")
            let run = try Tools.pgbench(["-c", "20", "-j", "2", "-t", "50", "-n", "-h", "127.0.0.1", "-p", String(sluice.port), "-U", "app", "app"],
                                        password: password)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(Tools.pgbenchFigure(run.stdout, "number of transactions actually processed:") == 1000, "\(run.stdout)")
            #expect(Tools.pgbenchFigure(run.stdout, "number of failed transactions:") ?? 0 == 0)
            #expect(try Clusters.backendCount(cluster) <= 20)
        }

        @Test func reconnectingClientsReuseAFewServers() throws {
            let sluice = try sluice(["default_pool_size": "3"])
            let run = try Tools.pgbench(["-c", "6", "-j", "2", "-t", "40", "-C", "-n", "-S",
                                         "-h", "127.0.0.1", "-p", String(sluice.port), "-U", "app", "app"], password: password)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(Tools.pgbenchFigure(run.stdout, "number of transactions actually processed:") == 240, "\(run.stdout)")
            #expect(try Clusters.backendCount(cluster) <= 3)
        }

        @Test func twoServersServeTenClientsInTurn() throws {
            let sluice = try sluice(["default_pool_size": "2"])
            let connection = sluice.connectionString(user: "app", database: "app")
            let password = password
            let outputs = concurrently(10) { _ in
                try? Tools.psql(connection, "SELECT pg_backend_pid() FROM pg_sleep(0.3)", password: password)
            }
            let pids = Set(outputs.compactMap { $0?.status == 0 ? $0?.stdout : nil })
            #expect(outputs.allSatisfy { $0?.status == 0 }, "\(outputs.map { $0?.stderr ?? "no output" })")
            #expect(pids.count <= 2 && pids.count >= 1)
            #expect(try Clusters.backendCount(cluster) <= 2)
        }

        @Test func sessionSettingsDoNotOutliveTheSession() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let connection = sluice.connectionString(user: "app", database: "app")
            let first = try Tools.psql(connection, "SET TimeZone = 'Asia/Tokyo'; SHOW TimeZone", password: password)
            #expect(first.stdout.hasSuffix("Asia/Tokyo\n"))
            let second = try Tools.psql(connection, "SHOW TimeZone; SELECT count(*) FROM pg_prepared_statements", password: password)
            #expect(second.status == 0)
            #expect(!second.stdout.contains("Asia/Tokyo"))
        }

        @Test func startupParametersReachTheServer() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let connection = sluice.connectionString(user: "app", database: "app") + " application_name=reporting"
            let output = try Tools.psql(connection, "SELECT current_setting('application_name')", password: password)
            #expect(output.stdout == "reporting\n", "\(output.stderr)")
            let environment = try ProcessRunner.run("psql", ["-X", "-At", "-d", sluice.connectionString(user: "app", database: "app"), "-c", "SHOW DateStyle"],
                                                    environment: ["PGPASSWORD": password, "PGDATESTYLE": "SQL, DMY"])
            #expect(environment.stdout == "SQL, DMY\n", "\(environment.stderr)")
        }
    }
}
