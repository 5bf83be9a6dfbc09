import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// `threads` above 1: clients spread over several event loops still share one set of pools,
    /// a server follows whichever client checks it out, and nothing crosses between clients.
    /// (scripts/test also runs every integration suite with two loops.)
    @Suite
    struct SeveralLoopsTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        func sluice(threads: Int, poolSize: Int, _ settings: [String: String] = [:]) throws -> SluiceInstance {
            var all = ["pool_mode": "transaction", "threads": String(threads), "default_pool_size": String(poolSize)]
            all.merge(settings) { _, new in new }
            return try SluiceInstance(cluster: cluster, settings: all, userlist: [("app", password)])
        }

        /// Clients are dealt to the loops in turn, so consecutive logins sit on different loops;
        /// with a pool of one they can only both be served if that server moves between them.
        @Test func oneServerMovesBetweenClientsOnTwoLoops() throws {
            let sluice = try sluice(threads: 2, poolSize: 1)
            let first = try sluice.login(password: password)
            let second = try sluice.login(password: password)
            let pid = try first.query("SELECT pg_backend_pid()").rows
            #expect(try second.query("SELECT pg_backend_pid()").rows == pid)
            #expect(try first.query("SET TimeZone = 'Asia/Tokyo'").error == nil)
            for _ in 0..<20 {
                #expect(try second.query("SHOW TimeZone").rows != [["Asia/Tokyo"]])
                #expect(try first.query("SHOW TimeZone").rows == [["Asia/Tokyo"]])
                #expect(try second.query("SELECT pg_backend_pid()").rows == pid)
            }
        }

        @Test func sessionsStayApartAcrossThreeLoopsAndTwoServers() throws {
            let sluice = try sluice(threads: 3, poolSize: 2)
            let clients = try (0..<9).map { _ in try sluice.login(password: password) }
            for (index, client) in clients.enumerated() {
                #expect(try client.query("SET application_name = 'client-\(index)'").error == nil)
            }
            var pids = Set<String>()
            for round in 0..<10 {
                for (index, client) in clients.enumerated() {
                    let result = try client.query("SELECT current_setting('application_name'), pg_backend_pid(), \(round)")
                    #expect(result.error == nil)
                    #expect(result.rows.first?[0] == "client-\(index)")
                    #expect(result.rows.first?[2] == "\(round)")
                    if let pid = result.rows.first?[1] ?? nil { pids.insert(pid) }
                }
            }
            #expect(pids.count <= 2 && pids.count >= 1, "\(pids.count) server connections for two-server pool")
        }

        @Test func aTransactionHeldOnOneLoopMakesAClientOnAnotherWait() throws {
            let sluice = try sluice(threads: 2, poolSize: 1)
            let holder = try sluice.login(password: password)
            let waiter = try sluice.login(password: password)
            #expect(try holder.query("BEGIN; SELECT 1").error == nil)
            let answered = Locked<[[String?]]?>(nil)
            let thread = Thread {
                let rows = try? waiter.query("SELECT 'served after commit'").rows
                answered.update { $0 = rows }
            }
            thread.start()
            usleep(300_000)
            #expect(answered.read { $0 } == nil, "the only server is in the holder's transaction")
            #expect(try holder.query("COMMIT").error == nil)
            let deadline = Date().addingTimeInterval(5)
            while answered.read({ $0 }) == nil && Date() < deadline { usleep(20_000) }
            #expect(answered.read { $0 } == [["served after commit"]])
        }
    }
}
