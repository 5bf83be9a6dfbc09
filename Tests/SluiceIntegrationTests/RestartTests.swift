import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// PostgreSQL stops and starts again under Sluice (a restart, an RDS failover): server
    /// logins are retried from 0.1 s, so a client that sent a query meanwhile is served about
    /// as soon as PostgreSQL accepts logins, not server_login_retry (15 s) later; and while it
    /// stays down, a waiting client gets the server's error at query_wait_timeout.
    @Suite
    struct RestartTests {
        let password = Clusters.password

        @Test(arguments: ["fast", "immediate"])
        func aClientWaitingThroughARestartIsServedOnceItIsBack(mode: String) throws {
            let cluster = Clusters.dedicated()
            defer { cluster.stop() }
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "default_pool_size": "4",
                                                                          "query_wait_timeout": "20"],
                                            userlist: [("app", password)])
            let before = try sluice.login(password: password)
            #expect(try before.query("SELECT 1").rows == [["1"]])

            try cluster.stopServer(mode: mode)
            let waiting = try sluice.login(password: password)
            waiting.send(FrontendMessage.query("SELECT 2"))
            // Logins fail meanwhile (connection refused); the client keeps waiting.
            usleep(700_000)
            try cluster.startAgain()
            let back = Date()
            let result = try waiting.readQueryResult()
            let seconds = Date().timeIntervalSince(back)
            print("restart -m \(mode): first transaction \(String(format: "%.2f", seconds)) s after PostgreSQL accepted logins")
            #expect(result.rows == [["2"]], "\(result)\n\(sluice.log())")
            #expect(seconds < 3, "server_login_retry is 15 s; the retries start at 0.1 s")
            #expect(try before.query("SELECT 3").rows == [["3"]], "the client from before the restart carries on")
        }

        /// PostgreSQL stops at once under clients that have sent more than Sluice has read
        /// (queries queued behind a sleeping one, megabytes of them): each reads the error that
        /// explains its disconnect and then end of file. Closing with their input unread would
        /// reset the connections instead, which a client that is writing (libpq, pgbench) sees
        /// as "connection reset" without the error.
        @Test func everyDisconnectedClientReceivesItsErrorThenEndOfFile() throws {
            let cluster = Clusters.dedicated()
            defer { cluster.stop() }
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "session", "default_pool_size": "4"],
                                            userlist: [("app", password)])
            let clients = try (0..<4).map { _ in try sluice.login(password: password) }
            for client in clients { client.send(FrontendMessage.query("SELECT pg_sleep(30)")) }
            #expect(try eventually(within: 10) { try Clusters.backendCount(cluster) == 4 })
            for client in clients {
                #expect(client.sendUntilFull(FrontendMessage.query("SELECT 'queued behind the sleep'")) > 0)
            }
            try cluster.stopServer(mode: "immediate")
            var outcomes: [String] = []
            for client in clients {
                var code = "-"
                var end = "end of file"
                do {
                    while let (type, body) = try client.readMessage() {
                        if type == BackendMessageType.errorResponse { code = ErrorFields(body: body)?.code ?? "?" }
                    }
                } catch {
                    end = "\(error)"
                }
                outcomes.append("\(code) \(end)")
            }
            #expect(outcomes == Array(repeating: "57P01 end of file", count: 4), "\(outcomes)\n\(sluice.log())")
        }

        @Test func whilePostgresStaysDownAWaitingClientGetsTheServersError() throws {
            let cluster = Clusters.dedicated()
            defer { cluster.stop() }
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "query_wait_timeout": "2"],
                                            userlist: [("app", password)])
            #expect(try sluice.login(password: password).query("SELECT 1").rows == [["1"]])
            try cluster.stopServer(mode: "fast")
            let started = Date()
            let result = try sluice.login(password: password).query("SELECT 2")
            let waited = Date().timeIntervalSince(started)
            let error = try #require(result.error)
            #expect(error.code == "08006" && error.message.contains("server connection failed"), "\(error)")
            #expect(waited > 1.5 && waited < 6, "it waited for query_wait_timeout: \(waited) s")
        }
    }
}
