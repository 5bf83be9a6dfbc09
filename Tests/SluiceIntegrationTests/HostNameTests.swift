import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// Server host names resolve when a connection opens, answers serve for dns_max_ttl, and a
    /// hosts file the test controls (dns_hosts_file) stands in for DNS: when the name moves to
    /// another address, new servers go there and the old ones close when released, with no
    /// client error.
    @Suite
    struct HostNameTests {
        let password = Clusters.password

        @Test func trafficFollowsAHostNameToItsNewAddress() throws {
            let (first, second) = Clusters.failoverPair
            let sluice = try SluiceInstance(
                cluster: first,
                settings: ["pool_mode": "transaction", "default_pool_size": "2", "dns_max_ttl": "1", "dns_hosts_file": "hosts",
                           "admin_users": "admin", "auth_failure_delay": "0"],
                userlist: [("app", password), ("admin", "admin-secret")],
                databases: "app = host=db.failover.test port=\(first.port) dbname=app")
            let hosts = "\(sluice.directory)/hosts"
            try "127.0.0.1 db.failover.test\n".write(toFile: hosts, atomically: true, encoding: .utf8)

            let inFlight = try sluice.login(password: password)
            let steady = try sluice.login(password: password)
            #expect(try inFlight.query("BEGIN").error == nil)
            #expect(try inFlight.query("SELECT inet_server_addr()").rows == [["127.0.0.1"]])
            #expect(try steady.query("SELECT inet_server_addr()").rows == [["127.0.0.1"]])
            let admin = try sluice.login(user: "admin", database: "pgbouncer", password: "admin-secret")
            #expect(try admin.query("SHOW DNS_HOSTS").rows.map { [$0[0], $0[2]] } == [["db.failover.test", "127.0.0.1"]])

            try "# failed over\n127.0.0.2 db.failover.test\n".write(toFile: hosts, atomically: true, encoding: .utf8)
            var errors: [String] = []
            let moved = try eventually(within: 8) {
                let result = try steady.query("SELECT inet_server_addr()")
                if let error = result.error { errors.append(error.message) }
                return result.rows == [["127.0.0.2"]]
            }
            #expect(moved, "new transactions reach the new address")
            #expect(errors.isEmpty, "\(errors)")

            #expect(try inFlight.query("SELECT inet_server_addr()").rows == [["127.0.0.1"]], "the transaction in flight stays")
            #expect(try inFlight.query("COMMIT").error == nil)
            #expect(try inFlight.query("SELECT inet_server_addr()").rows == [["127.0.0.2"]])
            #expect(try eventually(within: 3) { try Clusters.backendCount(first) == 0 }, "servers to the old address closed")
            #expect(try Clusters.backendCount(second) >= 1)
            #expect(try admin.query("SHOW DNS_HOSTS").rows.map { [$0[0], $0[2]] } == [["db.failover.test", "127.0.0.2"]])
            #expect(sluice.log().contains("db.failover.test now resolves to 127.0.0.2"))
        }

        @Test func aNameThatDoesNotResolveFailsTheLoginWithAnError() throws {
            let sluice = try SluiceInstance(
                cluster: Clusters.trust, settings: ["pool_mode": "transaction", "dns_hosts_file": "hosts"],
                userlist: [("app", password)],
                databases: "app = host=nowhere.invalid port=\(Clusters.trust.port) dbname=app")
            try "127.0.0.1 elsewhere.test\n".write(toFile: "\(sluice.directory)/hosts", atomically: true, encoding: .utf8)
            let client = try RawClient(port: sluice.port)
            guard case .refused(let error) = try client.login(user: "app", database: "app", password: password) else {
                Issue.record("a login to an unresolvable host got in")
                return
            }
            #expect(error.code == "08006")
            #expect(error.message.contains("cannot resolve nowhere.invalid"), "\(error.message)")
        }
    }
}
