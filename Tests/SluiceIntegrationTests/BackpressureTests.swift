import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// A client that stops reading must not make Sluice buffer what PostgreSQL keeps sending,
    /// nor stall anyone else.
    @Suite
    struct BackpressureTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        @Test func stalledReaderKeepsMemoryBoundedAndOthersServed() throws {
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "default_pool_size": "2"],
                                            userlist: [("app", password)])
            let stalled = try RawClient(port: sluice.port)
            let other = try RawClient(port: sluice.port)
            for client in [stalled, other] {
                guard case .ready = try client.login(user: "app", database: "app", password: password) else {
                    Issue.record("login failed")
                    return
                }
            }
            let before = try residentKilobytes(sluice.process.processIdentifier)
            // About 200 MB of rows, not read for a while.
            stalled.send(FrontendMessage.query("SELECT repeat('y', 2000) FROM generate_series(1, 100000)"))
            usleep(1_500_000)
            let during = try residentKilobytes(sluice.process.processIdentifier)
            #expect(during - before < 20_000, "Sluice grew by \(during - before) kB while the client did not read")
            #expect(try other.query("SELECT 5").rows == [["5"]], "another client is served meanwhile")

            var rows = 0
            while let (type, _) = try stalled.readMessage() {
                if type == BackendMessageType.dataRow { rows += 1 }
                if type == BackendMessageType.readyForQuery { break }
            }
            #expect(rows == 100_000)

            // The server that was held back now serves others, Sluice's own SETs included.
            #expect(try other.query("SET TimeZone = 'Asia/Tokyo'").error == nil)
            for _ in 0..<4 {
                #expect(try stalled.query("SELECT 6").rows == [["6"]])
                #expect(try other.query("SHOW TimeZone").rows == [["Asia/Tokyo"]])
            }
        }

        private func residentKilobytes(_ pid: Int32) throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
            return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        }
    }
}
