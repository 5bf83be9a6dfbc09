import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// TLS on both sides, with certificates the tests make: psql verifying Sluice, Sluice
    /// verifying PostgreSQL (which accepts the app role only over TLS), client certificates,
    /// SCRAM-SHA-256-PLUS, and clear errors when a certificate does not verify.
    @Suite
    struct TLSTests {
        let cluster = Clusters.tls
        let files = Certificates.files
        let password = Clusters.password

        func sluice(_ settings: [String: String] = [:]) throws -> SluiceInstance {
            var all = ["pool_mode": "transaction", "default_pool_size": "2", "auth_type": "scram-sha-256",
                       "client_tls_sslmode": "require", "client_tls_cert_file": files.serverCertificate,
                       "client_tls_key_file": files.serverKey, "client_tls_ca_file": files.ca,
                       "server_tls_sslmode": "verify-full", "server_tls_ca_file": files.ca]
            all.merge(settings) { _, new in new }
            return try SluiceInstance(cluster: cluster, settings: all, userlist: [("app", password)],
                                      databases: "app = host=127.0.0.1 port=\(cluster.port) dbname=app")
        }

        func connection(_ sluice: SluiceInstance, _ options: String) -> String {
            "host=127.0.0.1 port=\(sluice.port) user=app dbname=app \(options)"
        }

        /// psql verifies Sluice's certificate and host; Sluice verifies PostgreSQL's; the
        /// login uses SCRAM-SHA-256-PLUS bound to Sluice's certificate.
        @Test func verifyFullOnBothSidesWithChannelBinding() throws {
            let sluice = try sluice()
            let output = try Tools.psql(connection(sluice, "sslmode=verify-full sslrootcert=\(files.ca) channel_binding=require"),
                                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", password: password)
            #expect(output.status == 0, "\(output.stderr)\(sluice.log())")
            #expect(output.stdout == "t\n", "PostgreSQL sees TLS from Sluice")
        }

        @Test func aClientWithTheWrongCARefusesSluice() throws {
            let sluice = try sluice()
            let output = try Tools.psql(connection(sluice, "sslmode=verify-full sslrootcert=\(files.otherCA)"), "SELECT 1", password: password)
            #expect(output.status != 0)
            #expect(output.stderr.contains("certificate verify failed"), "\(output.stderr)")
        }

        @Test func sluiceWithTheWrongCARefusesPostgreSQLAndSaysWhy() throws {
            let sluice = try sluice(["server_tls_ca_file": files.otherCA])
            let output = try Tools.psql(connection(sluice, "sslmode=require"), "SELECT 1", password: password)
            #expect(output.status != 0)
            #expect(output.stderr.contains("certificate verification failed"), "\(output.stderr)")
        }

        @Test func aPlaintextClientIsRefusedWhenTLSIsRequired() throws {
            let sluice = try sluice()
            let output = try Tools.psql(connection(sluice, "sslmode=disable"), "SELECT 1", password: password)
            #expect(output.status != 0)
            #expect(output.stderr.contains("TLS is required"), "\(output.stderr)")
            // Allowed, not required: plaintext works too.
            let relaxed = try self.sluice(["client_tls_sslmode": "prefer"])
            let plain = try Tools.psql(connection(relaxed, "sslmode=disable"), "SELECT 1", password: password)
            #expect(plain.status == 0, "\(plain.stderr)")
        }

        /// verify-ca: a client must present a certificate from the CA.
        @Test func clientCertificatesAreChecked() throws {
            let sluice = try sluice(["client_tls_sslmode": "verify-ca"])
            let with = try Tools.psql(connection(sluice, "sslmode=verify-full sslrootcert=\(files.ca) sslcert=\(files.clientCertificate) sslkey=\(files.clientKey)"),
                                      "SELECT 1", password: password)
            #expect(with.status == 0, "\(with.stderr)")
            let without = try Tools.psql(connection(sluice, "sslmode=verify-full sslrootcert=\(files.ca) sslcert=/nonexistent sslkey=/nonexistent"),
                                         "SELECT 1", password: password)
            #expect(without.status != 0)
            #expect(without.stderr.contains("certificate required"), "\(without.stderr)")
            let next = try Tools.psql(connection(sluice, "sslmode=require sslcert=\(files.clientCertificate) sslkey=\(files.clientKey)"),
                                      "SELECT 2", password: password)
            #expect(next.stdout == "2\n", "others are still served: \(next.stderr)")
        }

        /// PostgreSQL 17's direct TLS: a ClientHello first, ALPN "postgresql", no SSLRequest.
        @Test func directTLSWithALPN() throws {
            let sluice = try sluice()
            let output = try ProcessRunner.run("python3", ["\(DriverTests.drivers)/direct_tls.py", "127.0.0.1", String(sluice.port), files.ca, "postgresql"])
            #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
            #expect(output.stdout.contains("authentication request"), "\(output.stdout)")
            let refused = try ProcessRunner.run("python3", ["\(DriverTests.drivers)/direct_tls.py", "127.0.0.1", String(sluice.port), files.ca, "other"])
            #expect(refused.status != 0, "a client offering another protocol fails the handshake: \(refused.stdout)")
        }
    }
}

extension IntegrationTests {
    /// auth_type = hba: the first matching auth_hba_file line decides, by connection type,
    /// database, user and address; cert logs in by the client certificate's common name.
    @Suite
    struct HostBasedAuthenticationTests {
        let cluster = Clusters.tls
        let files = Certificates.files
        let password = Clusters.password

        func sluice() throws -> SluiceInstance {
            let directory = NSTemporaryDirectory() + "sluice-hba-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let hba = "\(directory)/hba.conf"
            try """
                local    all  all                    trust
                host     all  blocked  127.0.0.1/32  reject
                hostssl  all  all      127.0.0.1/32  cert
                host     all  all      127.0.0.1/32  scram-sha-256
                """.write(toFile: hba, atomically: true, encoding: .utf8)
            return try SluiceInstance(cluster: cluster, settings: [
                "pool_mode": "transaction", "auth_type": "hba", "auth_hba_file": hba, "auth_failure_delay": "0",
                "client_tls_sslmode": "prefer", "client_tls_cert_file": files.serverCertificate,
                "client_tls_key_file": files.serverKey, "client_tls_ca_file": files.ca,
                "server_tls_sslmode": "verify-ca", "server_tls_ca_file": files.ca,
            ], userlist: [("app", password), ("blocked", password), ("other", password)],
               databases: "app = host=127.0.0.1 port=\(cluster.port) dbname=app")
        }

        func psql(_ sluice: SluiceInstance, _ options: String, password: String? = nil) throws -> ProcessRunner.Output {
            try Tools.psql("port=\(sluice.port) dbname=app \(options)", "SELECT current_user", password: password)
        }

        @Test func eachLineDecidesForTheConnectionsItMatches() throws {
            let sluice = try sluice()
            // hostssl + cert: the certificate's common name is the user; no password asked.
            let cert = try psql(sluice, "host=127.0.0.1 user=app sslmode=require sslcert=\(files.clientCertificate) sslkey=\(files.clientKey)")
            #expect(cert.stdout == "app\n", "\(cert.stderr)")
            // Plaintext TCP skips the hostssl line: SCRAM with the password.
            let scram = try psql(sluice, "host=127.0.0.1 user=app sslmode=disable", password: password)
            #expect(scram.stdout == "app\n", "\(scram.stderr)")
            let wrong = try psql(sluice, "host=127.0.0.1 user=app sslmode=disable", password: "wrong")
            #expect(wrong.stderr.contains("password authentication failed"), "\(wrong.stderr)")
            // A reject line.
            let blocked = try psql(sluice, "host=127.0.0.1 user=blocked sslmode=disable", password: password)
            #expect(blocked.stderr.contains("auth_hba_file rejects host \"127.0.0.1\", user \"blocked\""), "\(blocked.stderr)")
            // The Unix socket is trusted.
            let local = try psql(sluice, "host=\(sluice.directory) user=app")
            #expect(local.stdout == "app\n", "\(local.stderr)")
        }

        @Test func aCertificateForAnotherUserIsRefused() throws {
            let sluice = try sluice()
            let other = try psql(sluice, "host=127.0.0.1 user=other sslmode=require sslcert=\(files.clientCertificate) sslkey=\(files.clientKey)",
                                 password: password)
            #expect(other.status != 0)
            #expect(other.stderr.contains("certificate authentication failed for user \"other\""), "\(other.stderr)")
            // Over TLS without a certificate the cert line still decides: refused, not asked for a password.
            let none = try psql(sluice, "host=127.0.0.1 user=app sslmode=require sslcert=/nonexistent sslkey=/nonexistent", password: password)
            #expect(none.stderr.contains("certificate authentication failed"), "\(none.stderr)")
        }
    }
}
