import Foundation
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// Real drivers in transaction mode: psycopg 3 (pipeline mode, threads) and asyncpg
    /// (concurrent transactions). scripts/install-dependencies installs both with pip.
    @Suite
    struct DriverTests {
        let cluster = Clusters.trust
        let password = Clusters.password
        static let drivers = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Drivers").path

        func sluice() throws -> SluiceInstance {
            try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "default_pool_size": "3"],
                               userlist: [("app", password)])
        }

        @Test func psycopgPipelineAndThreads() throws {
            let sluice = try sluice()
            let output = try ProcessRunner.run("python3", ["\(Self.drivers)/psycopg_pipeline.py",
                                                           sluice.connectionString(user: "app", database: "app", password: password)])
            #expect(output.status == 0, "\(output.stdout)\(output.stderr)\(sluice.log())")
            #expect(output.stdout == "ok 250\n")
            #expect(try Clusters.backendCount(cluster) <= 3)
        }

        @Test func asyncpgConcurrentTransactions() throws {
            let sluice = try sluice()
            let output = try ProcessRunner.run("python3", ["\(Self.drivers)/asyncpg_concurrent.py", "127.0.0.1", String(sluice.port),
                                                           "app", password, "app"])
            #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
            #expect(output.stdout == "ok 500\n")
            #expect(try Clusters.backendCount(cluster) <= 3)
        }
    }
}
