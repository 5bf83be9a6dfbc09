import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// SQL-level PREPARE, EXECUTE and DEALLOCATE in transaction mode with
    /// sql_prepared_statements on: a client's statements work on whichever server it gets, the
    /// client sees exactly PostgreSQL's answers, and its names stay its own.
    @Suite
    struct SQLPreparedStatementTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        func sluice(_ settings: [String: String] = [:]) throws -> SluiceInstance {
            var all = ["pool_mode": "transaction", "default_pool_size": "2", "max_client_conn": "100",
                       "sql_prepared_statements": "on"]
            all.merge(settings) { _, new in new }
            return try SluiceInstance(cluster: cluster, settings: all, userlist: [("app", password)])
        }

        /// Sends a Query; the answers' types (a letter each) and the error, if any.
        func run(_ client: RawClient, _ sql: String) throws -> (types: String, error: ErrorFields?, tags: [String]) {
            client.send(FrontendMessage.query(sql))
            var types = ""
            var error: ErrorFields?
            var tags: [String] = []
            while let (type, body) = try client.readMessage() {
                types.append(Character(UnicodeScalar(type)))
                if type == BackendMessageType.errorResponse { error = ErrorFields(body: body) }
                if type == BackendMessageType.commandComplete { tags.append(String(decoding: body.dropLast(), as: UTF8.self)) }
                if type == BackendMessageType.readyForQuery { break }
            }
            return (types, error, tags)
        }

        func backendPID(_ client: RawClient) throws -> String? {
            try client.query("SELECT pg_backend_pid()").rows.first?.first ?? nil
        }

        @Test func psycopgSQLPrepareTwentyClientsOverTwoServers() throws {
            let sluice = try sluice()
            let output = try ProcessRunner.run("python3", ["\(DriverTests.drivers)/psycopg_sql_prepare.py",
                                                           sluice.connectionString(user: "app", database: "app", password: password)])
            #expect(output.stdout == "ok 500\n", "\(output.stdout)\(output.stderr)")
            #expect(output.status == 0, "\(output.stderr)\(sluice.log())")
            #expect(try Clusters.backendCount(cluster) <= 2)
        }

        @Test func anExecuteFollowsItsClientToAnotherServer() throws {
            let sluice = try sluice()
            let client = try sluice.login(password: password)
            let holder = try sluice.login(password: password)
            let prepared = try run(client, "prepare Double (int) AS SELECT $1 * 2;")
            #expect(prepared.types == "CZ" && prepared.tags == ["PREPARE"], "\(prepared)")
            let first = try backendPID(client)
            #expect(try holder.query("BEGIN").error == nil)
            #expect(try backendPID(holder) == first)
            // Unquoted names fold to lower case, as in PostgreSQL; comments and spacing are fine.
            let executed = try run(client, "/* app */ EXECUTE double (21)")
            #expect(executed.types == "TDCZ" && executed.tags == ["SELECT 1"], "\(executed)")
            #expect(try client.query("EXECUTE \"double\"(4)").rows == [["8"]])
            #expect(try backendPID(client) != first)
            #expect(try holder.query("COMMIT").error == nil)
            // The server names are Sluice's; the client's name is nowhere on the servers.
            let names = try client.query("SELECT count(*) FROM pg_prepared_statements WHERE name = 'double'")
            #expect(names.rows == [["0"]])
        }

        @Test func namesBelongToTheirClientAndFollowPostgreSQLsRules() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let one = try sluice.login(password: password)
            let two = try sluice.login(password: password)
            #expect(try run(one, "PREPARE shout AS SELECT 'one'").types == "CZ")
            #expect(try run(two, "PREPARE shout AS SELECT 'two'").types == "CZ")
            #expect(try one.query("EXECUTE shout").rows == [["one"]])
            #expect(try two.query("EXECUTE shout").rows == [["two"]])
            // The same text from two clients: one statement on the server, prepared again for
            // the second PREPARE (hidden DEALLOCATE), yet each client sees only its PREPARE.
            #expect(try run(two, "PREPARE again AS SELECT 'one'").tags == ["PREPARE"])
            #expect(try two.query("EXECUTE again").rows == [["one"]])
            #expect(try one.query("EXECUTE shout").rows == [["one"]])
            // Twice the same name: refused, as PostgreSQL refuses it.
            #expect(try run(one, "PREPARE shout AS SELECT 1").error?.code == "42P05")
            // DEALLOCATE forgets only this client's name.
            let dropped = try run(one, "DEALLOCATE shout")
            #expect(dropped.types == "CZ" && dropped.tags == ["DEALLOCATE"], "\(dropped)")
            #expect(try run(one, "EXECUTE shout").error?.code == "26000")
            #expect(try two.query("EXECUTE shout").rows == [["two"]])
            #expect(try run(one, "DEALLOCATE shout").error?.code == "26000")
            // A failed PREPARE leaves no name behind.
            #expect(try run(one, "PREPARE broken AS SELECT * FROM no_such_table").error?.code == "42P01")
            #expect(try run(one, "EXECUTE broken").error?.code == "26000")
            // DEALLOCATE ALL empties the server too: the other client's statement is prepared there again.
            #expect(try run(one, "DEALLOCATE ALL").tags == ["DEALLOCATE ALL"])
            #expect(try two.query("EXECUTE shout").rows == [["two"]])
            // Protocol-level and SQL-level names are separate namespaces in Sluice.
            one.send(ExtendedProtocol.parse("byparse", "SELECT 1") + ExtendedProtocol.sync)
            while let (type, _) = try one.readMessage(), type != BackendMessageType.readyForQuery {}
            #expect(try run(one, "EXECUTE byparse").error?.code == "26000")
        }

        @Test func inAFailedTransactionPostgreSQLsErrorComesAndNamesStay() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let client = try sluice.login(password: password)
            #expect(try run(client, "PREPARE kept AS SELECT 5").types == "CZ")
            #expect(try client.query("BEGIN").error == nil)
            #expect(try run(client, "SELECT 1/0").error?.code == "22012")
            #expect(try run(client, "DEALLOCATE kept").error?.code == "25P02")
            #expect(try run(client, "PREPARE added AS SELECT 6").error?.code == "25P02")
            #expect(try run(client, "EXECUTE kept").error?.code == "25P02")
            #expect(try client.query("ROLLBACK").error == nil)
            #expect(try client.query("EXECUTE kept").rows == [["5"]])
            #expect(try run(client, "EXECUTE added").error?.code == "26000")
        }

        @Test func theLeastRecentlyUsedStatementMakesRoomAndDiscardAllForgetsAll() throws {
            let sluice = try sluice(["default_pool_size": "1", "max_prepared_statements": "2"])
            let client = try sluice.login(password: password)
            for n in 1...4 { #expect(try run(client, "PREPARE s\(n) AS SELECT \(n)").types == "CZ") }
            for n in [1, 2, 3, 4, 1] {
                let executed = try run(client, "EXECUTE s\(n)")
                #expect(executed.types == "TDCZ", "s\(n): \(executed)")
            }
            #expect(try client.query("SELECT count(*) FROM pg_prepared_statements").rows == [["2"]])
            #expect(try run(client, "DISCARD ALL").error == nil)
            #expect(try run(client, "EXECUTE s1").error?.code == "26000")
            #expect(try client.query("SELECT count(*) FROM pg_prepared_statements").rows == [["0"]])
        }

        /// Queries that are not one PREPARE, EXECUTE or DEALLOCATE go as written; statements
        /// mapped earlier still work.
        @Test func otherQueriesPassUnchanged() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let client = try sluice.login(password: password)
            #expect(try run(client, "PREPARE p AS SELECT 'x'").types == "CZ")
            #expect(try client.query("SELECT 'PREPARE q AS SELECT 1; EXECUTE p'").rows == [["PREPARE q AS SELECT 1; EXECUTE p"]])
            let explained = try run(client, "EXPLAIN EXECUTE p")
            #expect(explained.error?.code == "26000", "EXPLAIN EXECUTE is not mapped: \(explained)")
            let both = try run(client, "PREPARE r AS SELECT 1; EXECUTE r")
            #expect(both.error == nil && both.tags == ["PREPARE", "SELECT 1"], "\(both)")
            #expect(try client.query("EXECUTE p").rows == [["x"]])
        }

        @Test func offByDefault() throws {
            let sluice = try sluice(["sql_prepared_statements": "off", "default_pool_size": "1"])
            let client = try sluice.login(password: password)
            #expect(try run(client, "PREPARE plain AS SELECT 1").types == "CZ")
            let names = try client.query("SELECT name FROM pg_prepared_statements")
            #expect(names.rows == [["plain"]])
            #expect(try run(client, "DEALLOCATE plain").error == nil)
        }
    }
}
