import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// The time-based settings, each set to a second or two against a real PostgreSQL.
    @Suite
    struct TimeoutTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        func sluice(_ settings: [String: String]) throws -> SluiceInstance {
            var all = ["pool_mode": "transaction"]
            all.merge(settings) { _, new in new }
            return try SluiceInstance(cluster: cluster, settings: all, userlist: [("app", password)])
        }


        @Test func idleServersCloseButTheMinimumStays() throws {
            let sluice = try sluice(["default_pool_size": "4", "min_pool_size": "1", "server_idle_timeout": "1"])
            let clients = try (0..<3).map { _ in try sluice.login(password: password) }
            for client in clients { #expect(try client.query("BEGIN").error == nil) }
            #expect(try Clusters.backendCount(cluster) == 3)
            for client in clients { #expect(try client.query("COMMIT").error == nil) }
            #expect(try eventually(within: 5) { try Clusters.backendCount(cluster) == 1 }, "\(sluice.log())")
            usleep(1_500_000)
            #expect(try Clusters.backendCount(cluster) == 1, "min_pool_size keeps one server")
        }

        @Test func queryTimeoutEndsALongQuery() throws {
            let sluice = try sluice(["query_timeout": "1"])
            let client = try sluice.login(password: password)
            let started = Date()
            let result = try client.query("SELECT pg_sleep(10)")
            #expect(result.error?.code == "57014")
            #expect(result.error?.message == "query_timeout")
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(try eventually(within: 3) { try Clusters.backendCount(cluster) == 0 }, "the busy server is closed")
        }

        @Test func idleTransactionTimeoutEndsAnAbandonedTransaction() throws {
            let sluice = try sluice(["idle_transaction_timeout": "1"])
            let client = try sluice.login(password: password)
            #expect(try client.query("BEGIN").error == nil)
            var error: ErrorFields?
            while let (type, body) = try client.readMessage() {
                if type == BackendMessageType.errorResponse { error = ErrorFields(body: body) }
            }
            #expect(error?.code == "25P03")
            #expect(try eventually(within: 3) { try Clusters.backendCount(cluster) == 0 })
        }

        @Test func clientIdleTimeoutClosesIdleClients() throws {
            let sluice = try sluice(["client_idle_timeout": "1"])
            let client = try sluice.login(password: password)
            #expect(try client.query("SELECT 1").rows == [["1"]])
            var error: ErrorFields?
            while let (type, body) = try client.readMessage() {
                if type == BackendMessageType.errorResponse { error = ErrorFields(body: body) }
            }
            #expect(error?.code == "57P05")
            #expect(error?.message == "client_idle_timeout")
        }

        @Test func reservePoolServesAClientThatWaitedTooLong() throws {
            let sluice = try sluice(["default_pool_size": "1", "reserve_pool_size": "1", "reserve_pool_timeout": "1"])
            let holder = try sluice.login(password: password)
            #expect(try holder.query("BEGIN").error == nil)
            let waiter = try sluice.login(password: password)
            let started = Date()
            #expect(try waiter.query("SELECT 7").rows == [["7"]])
            let waited = Date().timeIntervalSince(started)
            #expect(waited >= 0.9 && waited < 4, "waited \(waited) s")
            #expect(try eventually(within: 3) { try Clusters.backendCount(cluster) == 1 }, "the reserve server is closed once nobody waits")
            #expect(try holder.query("COMMIT").error == nil)
        }

        @Test func clientLoginTimeoutClosesSilentClients() throws {
            let sluice = try sluice(["client_login_timeout": "1"])
            let silent = try RawClient(port: sluice.port)
            let started = Date()
            let message = try silent.readMessage()
            #expect(message?.type == BackendMessageType.errorResponse)
            #expect(message.flatMap { ErrorFields(body: $0.body) }?.message == "client_login_timeout")
            #expect(Date().timeIntervalSince(started) < 4)
        }
    }
}
