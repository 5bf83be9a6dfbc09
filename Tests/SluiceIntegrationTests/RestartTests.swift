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
