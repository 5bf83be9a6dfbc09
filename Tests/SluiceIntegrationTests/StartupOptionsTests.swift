import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// The `options` startup parameter (PGOPTIONS, Django's `OPTIONS: {"options": ...}`) in
    /// transaction mode: its settings follow the client to every server it gets, search_path
    /// included, which PostgreSQL 15 does not report (PgBouncer 1.25.2 accepts it there and
    /// never applies it).
    @Suite
    struct StartupOptionsTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        func client(_ sluice: SluiceInstance, options: String?) throws -> RawClient {
            let client = try RawClient(port: sluice.port)
            let parameters = options.map { [StartupParameter(name: "options", value: $0)] } ?? []
            guard case .ready = try client.login(user: "app", database: "app", password: password, parameters: parameters) else {
                throw HarnessError("login refused: \(sluice.log())")
            }
            return client
        }

        @Test func searchPathFromOptionsFollowsTheClientAcrossServers() throws {
            try cluster.psql("DROP SCHEMA IF EXISTS tenant_a CASCADE; CREATE SCHEMA tenant_a AUTHORIZATION app", database: "app")
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "default_pool_size": "1"],
                                            userlist: [("app", password)])
            let tenant = try client(sluice, options: "-c search_path=tenant_a --application-name=tenant\\ web")
            let plain = try client(sluice, options: nil)
            for _ in 0..<3 {
                #expect(try tenant.query("SHOW search_path").rows == [["tenant_a"]])
                #expect(try tenant.query("SELECT current_setting('application_name')").rows == [["tenant web"]])
                #expect(try plain.query("SHOW search_path").rows == [["\"$user\", public"]], "the other client gets the default back")
            }
            #expect(try tenant.query("CREATE TABLE in_tenant (n int)").error == nil)
            #expect(try cluster.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'tenant_a' AND tablename = 'in_tenant'", database: "app") == "1")
        }

        @Test func anUntrackedSettingInOptionsIsRefusedByName() throws {
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction"], userlist: [("app", password)])
            let client = try RawClient(port: sluice.port)
            let outcome = try client.login(user: "app", database: "app", password: password,
                                           parameters: [StartupParameter(name: "options", value: "-c work_mem=64MB")])
            guard case .refused(let error) = outcome else {
                Issue.record("work_mem is not tracked: a transaction-mode server cannot keep it for this client")
                return
            }
            #expect(error.code == "08P01" && error.message == "unsupported startup parameter in options: work_mem")
        }
    }
}
