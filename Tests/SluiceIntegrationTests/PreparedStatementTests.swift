import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// Named prepared statements in transaction mode: drivers that prepare by name work over a
    /// pool of two servers, statements follow their clients to whichever server they get, and
    /// each client's names stay its own.
    @Suite
    struct PreparedStatementTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        func sluice(_ settings: [String: String] = [:]) throws -> SluiceInstance {
            var all = ["pool_mode": "transaction", "default_pool_size": "2", "max_client_conn": "100",
                       "ignore_startup_parameters": "extra_float_digits"]
            all.merge(settings) { _, new in new }
            return try SluiceInstance(cluster: cluster, settings: all, userlist: [("app", password)])
        }

        /// Sends `bytes` and reads up to ReadyForQuery: the types of the answers and the errors.
        func exchange(_ client: RawClient, _ bytes: [UInt8]) throws -> (types: String, errors: [ErrorFields], rows: [String]) {
            client.send(bytes)
            var types = ""
            var errors: [ErrorFields] = []
            var rows: [String] = []
            while let (type, body) = try client.readMessage() {
                types.append(Character(UnicodeScalar(type)))
                if type == BackendMessageType.errorResponse, let error = ErrorFields(body: body) { errors.append(error) }
                if type == BackendMessageType.dataRow, body.count > 6 { rows.append(String(decoding: body[6...], as: UTF8.self)) }
                if type == BackendMessageType.readyForQuery { break }
            }
            return (types, errors, rows)
        }

        func backendPID(_ client: RawClient) throws -> String? {
            try client.query("SELECT pg_backend_pid()").rows.first?.first ?? nil
        }

        @Test func pgbenchPreparedTwentyClientsOverTwoServers() throws {
            try Clusters.pgbenchTables(cluster)
            let sluice = try sluice()
            // -S: one statement per transaction. (pgbench prepares synchronously, so with explicit
            // transactions and more clients per pgbench thread than servers it would wait on itself.)
            let run = try Tools.pgbench(["-M", "prepared", "-S", "-c", "20", "-j", "2", "-t", "200", "-n",
                                         "-h", "127.0.0.1", "-p", String(sluice.port), "-U", "app", "app"], password: password)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(Tools.pgbenchFigure(run.stdout, "number of transactions actually processed:") == 4000, "\(run.stdout)")
            #expect(Tools.pgbenchFigure(run.stdout, "number of failed transactions:") ?? 0 == 0)
            let log = sluice.terminate()
            #expect(log.contains("prepared statements:"), "\(log)")
        }

        @Test(arguments: ["asyncpg", "psycopg", "jdbc"])
        func driverPreparingByNameOverTwoServers(driver: String) throws {
            let sluice = try sluice()
            let drivers = DriverTests.drivers
            let output: ProcessRunner.Output
            switch driver {
            case "asyncpg":
                output = try ProcessRunner.run("python3", ["\(drivers)/asyncpg_prepared.py", "127.0.0.1", String(sluice.port), "app", password, "app"])
                #expect(output.stdout == "ok 1200\n", "\(output.stdout)\(output.stderr)")
            case "psycopg":
                output = try ProcessRunner.run("python3", ["\(drivers)/psycopg_prepared.py",
                                                           sluice.connectionString(user: "app", database: "app", password: password)])
                #expect(output.stdout == "ok 500\n", "\(output.stdout)\(output.stderr)")
            default:
                output = try ProcessRunner.run("java", ["-cp", "/usr/share/java/postgresql.jar", "\(drivers)/JdbcPrepared.java",
                                                        "jdbc:postgresql://127.0.0.1:\(sluice.port)/app", "app", password])
                #expect(output.stdout == "ok 500\n", "\(output.stdout)\(output.stderr)")
            }
            #expect(output.status == 0, "\(output.stdout)\(output.stderr)\(sluice.log())")
            #expect(try Clusters.backendCount(cluster) <= 2)
        }

        /// A statement prepared on one server is prepared again, unseen, on the other one when
        /// its client next gets that one.
        @Test func aStatementFollowsItsClientToAnotherServer() throws {
            let sluice = try sluice()
            let client = try sluice.login(password: password)
            let holder = try sluice.login(password: password)
            let parsed = try exchange(client, ExtendedProtocol.parse("double", "SELECT $1::int * 2") + ExtendedProtocol.sync)
            #expect(parsed.types == "1Z")
            let first = try backendPID(client)
            // The holder takes the server the client just used (the most recently used one) and keeps it.
            #expect(try holder.query("BEGIN").error == nil)
            #expect(try backendPID(holder) == first)
            let bound = try exchange(client, ExtendedProtocol.bind("21", statement: "double") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(bound.types == "2DCZ", "\(bound.errors)")
            #expect(bound.rows == ["42"])
            #expect(try backendPID(client) != first)
            #expect(try holder.query("COMMIT").error == nil)
        }

        @Test func namesBelongToTheirClient() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let one = try sluice.login(password: password)
            let two = try sluice.login(password: password)
            let sql = "SELECT $1::text || '!'"
            #expect(try exchange(one, ExtendedProtocol.parse("shout", sql) + ExtendedProtocol.sync).types == "1Z")
            // Same text under the same name from another client: its own statement (shared on the server).
            #expect(try exchange(two, ExtendedProtocol.parse("shout", sql) + ExtendedProtocol.sync).types == "1Z")
            // Closing it for one client leaves the other's.
            #expect(try exchange(one, ExtendedProtocol.closeStatement("shout") + ExtendedProtocol.sync).types == "3Z")
            let gone = try exchange(one, ExtendedProtocol.bind("a", statement: "shout") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(gone.errors.first?.code == "26000", "\(gone)")
            let kept = try exchange(two, ExtendedProtocol.bind("b", statement: "shout") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(kept.types == "2DCZ")
            #expect(kept.rows == ["b!"])
            // A name unknown to the client stays unknown even though the server holds the text.
            let never = try exchange(one, ExtendedProtocol.describeStatement("other") + ExtendedProtocol.sync)
            #expect(never.errors.first?.code == "26000")
            // Preparing a name twice is refused, as PostgreSQL refuses it.
            let twice = try exchange(two, ExtendedProtocol.parse("shout", sql) + ExtendedProtocol.sync)
            #expect(twice.errors.first?.code == "42P05", "\(twice)")
        }

        @Test func anErrorMidPipelineLeavesNothingHalfPrepared() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let client = try sluice.login(password: password)
            #expect(try exchange(client, ExtendedProtocol.parse("good", "SELECT 1") + ExtendedProtocol.sync).types == "1Z")
            // A failing Parse, then messages PostgreSQL skips up to the Sync: a Parse Sluice would
            // answer itself (the server has the text), a Close Sluice would answer, and a Describe.
            let failing = try exchange(client, ExtendedProtocol.parse("bad", "SELEC nonsense") + ExtendedProtocol.parse("again", "SELECT 1")
                                       + ExtendedProtocol.closeStatement("good") + ExtendedProtocol.describeStatement("good")
                                       + ExtendedProtocol.sync)
            #expect(failing.types == "EZ", "\(failing)")
            #expect(failing.errors.first?.code == "42601")
            for name in ["bad", "again"] {
                let missing = try exchange(client, ExtendedProtocol.describeStatement(name) + ExtendedProtocol.sync)
                #expect(missing.errors.first?.code == "26000", "\(name): \(missing)")
            }
            let described = try exchange(client, ExtendedProtocol.describeStatement("good") + ExtendedProtocol.sync)
            #expect(described.types == "tTZ")
            #expect(try exchange(client, ExtendedProtocol.parse("again", "SELECT 1") + ExtendedProtocol.sync).types == "1Z")
        }

        /// DISCARD ALL or DEALLOCATE ALL in any form: Sluice follows PostgreSQL's
        /// CommandComplete tag, not the text.
        @Test(arguments: ["simple", "comment", "multi", "extended", "deallocate prepare"])
        func discardAllForgetsTheClientsStatements(form: String) throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let client = try sluice.login(password: password)
            #expect(try exchange(client, ExtendedProtocol.parse("kept", "SELECT 7") + ExtendedProtocol.sync).types == "1Z")
            switch form {
            case "simple": #expect(try client.query("DISCARD ALL").error == nil)
            case "comment": #expect(try client.query("/* reset */ -- the session\n  discard   all").error == nil)
            case "multi": #expect(try client.query("SELECT 1; DEALLOCATE ALL").error == nil)
            case "deallocate prepare": #expect(try client.query("DEALLOCATE PREPARE ALL").error == nil)
            default:
                let reset = try exchange(client, ExtendedProtocol.parse("", "DISCARD ALL") + ExtendedProtocol.bind(statement: "")
                    + ExtendedProtocol.execute() + ExtendedProtocol.sync)
                #expect(reset.types == "12CZ", "\(reset)")
            }
            // Another client on the same (only) server: Sluice knows the shared statement is
            // gone from it, and prepares it again.
            let other = try sluice.login(password: password)
            #expect(try exchange(other, ExtendedProtocol.parse("mine", "SELECT 7") + ExtendedProtocol.sync).types == "1Z")
            let theirs = try exchange(other, ExtendedProtocol.bind(statement: "mine") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(theirs.rows == ["7"], "\(theirs)")
            let gone = try exchange(client, ExtendedProtocol.describeStatement("kept") + ExtendedProtocol.sync)
            #expect(gone.errors.first?.code == "26000")
            // The server lost its statements too: preparing again goes to it and works.
            #expect(try exchange(client, ExtendedProtocol.parse("kept", "SELECT 7") + ExtendedProtocol.sync).types == "1Z")
            let run = try exchange(client, ExtendedProtocol.bind(statement: "kept") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(run.rows == ["7"], "\(run)")
        }

        /// DISCARD ALL refused inside a transaction block drops nothing: the statement still runs.
        @Test func aFailedDiscardAllKeepsTheStatements() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let client = try sluice.login(password: password)
            #expect(try exchange(client, ExtendedProtocol.parse("kept", "SELECT 8") + ExtendedProtocol.sync).types == "1Z")
            #expect(try client.query("BEGIN").error == nil)
            #expect(try client.query("DISCARD ALL").error?.code == "25001")
            #expect(try client.query("ROLLBACK").error == nil)
            let run = try exchange(client, ExtendedProtocol.bind(statement: "kept") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(run.rows == ["8"], "\(run)")
        }

        @Test func theLeastRecentlyUsedStatementMakesRoom() throws {
            let sluice = try sluice(["default_pool_size": "1", "max_prepared_statements": "2"])
            let client = try sluice.login(password: password)
            for n in 1...4 {
                #expect(try exchange(client, ExtendedProtocol.parse("s\(n)", "SELECT \(n)") + ExtendedProtocol.sync).types == "1Z")
            }
            // s1 and s2 were closed on the server to keep two; each is prepared again when used.
            for n in [1, 2, 3, 4, 1] {
                let run = try exchange(client, ExtendedProtocol.bind(statement: "s\(n)") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
                #expect(run.types == "2DCZ", "s\(n): \(run)")
                #expect(run.rows == ["\(n)"])
            }
            let onServer = try client.query("SELECT count(*) FROM pg_prepared_statements")
            #expect(onServer.rows == [["2"]])
        }

        /// A Parse larger than Sluice's read buffer, and a Bind whose parameter is a megabyte: the
        /// first is read whole into a larger buffer, the second is rewritten in its first bytes.
        @Test func largeParseAndLargeBindOfNamedStatements() throws {
            let sluice = try sluice()
            let client = try sluice.login(password: password)
            let padding = String(repeating: "x", count: 40_000)
            let parsed = try exchange(client, ExtendedProtocol.parse("long", "SELECT length($1::text) + length('\(padding)')") + ExtendedProtocol.sync)
            #expect(parsed.types == "1Z", "\(parsed)")
            let value = String(repeating: "y", count: 1_000_000)
            let run = try exchange(client, ExtendedProtocol.bind(value, statement: "long") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(run.types == "2DCZ", "\(run.errors)")
            #expect(run.rows == ["\(1_000_000 + 40_000)"])
        }

        @Test func aParseTooLargeToReadWholeEndsItsClientWithAClearError() throws {
            let sluice = try sluice()
            let client = try RawClient(port: sluice.port)
            guard case .ready = try client.login(user: "app", database: "app", password: password) else {
                Issue.record("login failed")
                return
            }
            client.send(ExtendedProtocol.parse("huge", "SELECT '" + String(repeating: "z", count: 1_100_000) + "'") + ExtendedProtocol.sync)
            // Sluice answers and closes while bytes of the Parse are still arriving, so the kernel
            // may reset the connection before the client reads the answer; the log has it either way.
            var error: ErrorFields?
            while let (type, body) = try? client.readMessage() {
                if type == BackendMessageType.errorResponse { error = ErrorFields(body: body) }
            }
            #expect(error == nil || error?.code == "54000", "\(String(describing: error))")
            #expect(sluice.log().contains("(54000)"), "\(sluice.log())")
            let next = try sluice.login(password: password)
            #expect(try next.query("SELECT 1").rows == [["1"]])
        }

        /// When the statement cannot be prepared again on another server (its table is gone), the
        /// client gets PostgreSQL's error for its Bind, and nothing is left half done.
        @Test func aStatementThatCannotBePreparedAgainFailsItsBind() throws {
            let sluice = try sluice()
            try cluster.psql("DROP TABLE IF EXISTS vanishing; CREATE TABLE vanishing (n int); INSERT INTO vanishing VALUES (5); GRANT ALL ON vanishing TO app", database: "app")
            let client = try sluice.login(password: password)
            let holder = try sluice.login(password: password)
            #expect(try exchange(client, ExtendedProtocol.parse("read", "SELECT n FROM vanishing") + ExtendedProtocol.sync).types == "1Z")
            let first = try backendPID(client)
            #expect(try holder.query("BEGIN").error == nil)
            #expect(try backendPID(holder) == first)
            try cluster.psql("DROP TABLE vanishing", database: "app")
            let failed = try exchange(client, ExtendedProtocol.bind(statement: "read") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(failed.types == "EZ", "\(failed)")
            #expect(failed.errors.first?.code == "42P01")
            #expect(try backendPID(client) != first)
            // The client's name still stands for the statement, as it would on PostgreSQL; the
            // other server did not record it, so it is tried again there, with the same answer.
            let again = try exchange(client, ExtendedProtocol.bind(statement: "read") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(again.errors.first?.code == "42P01", "\(again)")
            #expect(try client.query("SELECT 1").rows == [["1"]])
            #expect(try holder.query("COMMIT").error == nil)
        }

        /// After ALTER TABLE changes what `SELECT *` returns, a client preparing that text afresh
        /// gets the new columns, as it would from PostgreSQL, although the server's shared copy
        /// is stale: Sluice prepares it again and sends the pipeline once more. A client whose
        /// statement predates the change gets PostgreSQL's own error until then.
        @Test(arguments: ["bind", "describe"])
        func aFreshParseAfterDDLIsRetriedOnceTransparently(firstUse: String) throws {
            let table = "widened_\(firstUse)"
            try cluster.psql("DROP TABLE IF EXISTS \(table); CREATE TABLE \(table) (a int); INSERT INTO \(table) VALUES (1); GRANT ALL ON \(table) TO app", database: "app")
            let sluice = try sluice(["default_pool_size": "1"])
            let early = try sluice.login(password: password)
            let late = try sluice.login(password: password)
            let sql = "SELECT * FROM \(table)"
            let before = try exchange(early, ExtendedProtocol.parse("all", sql) + ExtendedProtocol.bind(statement: "all") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(before.types == "12DCZ", "\(before)")
            try cluster.psql("ALTER TABLE \(table) ADD COLUMN b text DEFAULT 'new'", database: "app")
            let stale = try exchange(early, ExtendedProtocol.bind(statement: "all") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(stale.types == "EZ", "\(stale)")
            #expect(stale.errors.first?.code == "0A000")

            let use = firstUse == "bind"
                ? ExtendedProtocol.bind(statement: "all") + ExtendedProtocol.execute()
                : ExtendedProtocol.describeStatement("all") + ExtendedProtocol.bind(statement: "all") + ExtendedProtocol.execute()
            let fresh = try exchange(late, ExtendedProtocol.parse("all", sql) + use + ExtendedProtocol.sync)
            #expect(fresh.errors.isEmpty, "\(fresh.errors)")
            #expect(fresh.types == (firstUse == "bind" ? "12DCZ" : "1tT2DCZ"), "\(fresh)")
            #expect(fresh.rows.count == 1)
            #expect(fresh.rows.first?.hasSuffix("new") == true, "\(fresh.rows)")
            // Once more, now without a retry: the server's copy is fresh.
            let again = try exchange(late, ExtendedProtocol.bind(statement: "all") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(again.types == "2DCZ", "\(again)")
            let log = sluice.terminate()
            #expect(log.contains("1 retried after a stale plan"), "\(log)")
        }

        /// Inside an explicit transaction the stale-plan error reaches the client: its earlier
        /// statements ran, so the pipeline cannot be sent again.
        @Test func theStalePlanErrorInsideATransactionReachesTheClient() throws {
            try cluster.psql("DROP TABLE IF EXISTS widened_tx; CREATE TABLE widened_tx (a int); GRANT ALL ON widened_tx TO app", database: "app")
            let sluice = try sluice(["default_pool_size": "1"])
            let early = try sluice.login(password: password)
            let late = try sluice.login(password: password)
            let sql = "SELECT * FROM widened_tx"
            #expect(try exchange(early, ExtendedProtocol.parse("all", sql) + ExtendedProtocol.sync).types == "1Z")
            try cluster.psql("ALTER TABLE widened_tx ADD COLUMN b int", database: "app")
            #expect(try late.query("BEGIN").error == nil)
            let failed = try exchange(late, ExtendedProtocol.parse("all", sql) + ExtendedProtocol.bind(statement: "all") + ExtendedProtocol.execute() + ExtendedProtocol.sync)
            #expect(failed.types == "1EZ", "\(failed)")
            #expect(failed.errors.first?.code == "0A000")
            #expect(try late.query("ROLLBACK").error == nil)
        }
    }
}
