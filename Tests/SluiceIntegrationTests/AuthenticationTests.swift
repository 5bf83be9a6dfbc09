import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// Logins to Sluice and from Sluice to PostgreSQL with each method, and the refusals a client
    /// can see, checked by SQLSTATE.
    @Suite
    struct AuthenticationTests {
        let password = Clusters.password

        @Test func scramToSluiceAndScramToPostgres() throws {
            let sluice = try SluiceInstance(cluster: Clusters.scram, settings: ["auth_type": "scram-sha-256"],
                                            userlist: [("app", password)])
            let output = try Tools.psql(sluice.connectionString(user: "app", database: "app"), "SELECT current_user", password: password)
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout == "app\n")
        }

        @Test func md5ToSluiceAndMd5ToPostgresWithOnlyAHash() throws {
            let hash = try Clusters.storedSecret(Clusters.md5)
            #expect(hash.hasPrefix("md5"))
            let sluice = try SluiceInstance(cluster: Clusters.md5, settings: ["auth_type": "md5"], userlist: [("app", hash)])
            let output = try Tools.psql(sluice.connectionString(user: "app", database: "app"), "SELECT current_user", password: password)
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout == "app\n")
        }

        @Test func md5ToSluiceWithPlaintextAndScramToPostgres() throws {
            let sluice = try SluiceInstance(cluster: Clusters.scram, settings: ["auth_type": "md5"], userlist: [("app", password)])
            let client = try RawClient(port: sluice.port)
            guard case .ready = try client.login(user: "app", database: "app", password: password) else {
                Issue.record("md5 login failed: \(sluice.log())")
                return
            }
            #expect(try client.query("SELECT 1").rows == [["1"]])
        }

        /// The userlist holds only PostgreSQL's SCRAM verifier: Sluice logs in to PostgreSQL with the
        /// ClientKey recovered from the client's proof.
        @Test func scramPassThroughWithOnlyAVerifier() throws {
            let verifier = try Clusters.storedSecret(Clusters.scram)
            #expect(verifier.hasPrefix("SCRAM-SHA-256$"))
            let sluice = try SluiceInstance(cluster: Clusters.scram, settings: ["auth_type": "scram-sha-256", "default_pool_size": "2"],
                                            userlist: [("app", verifier)])
            let connection = sluice.connectionString(user: "app", database: "app")
            for _ in 0..<3 {
                let output = try Tools.psql(connection, "SELECT current_user, inet_server_port()", password: password)
                #expect(output.status == 0, "\(output.stderr) \(sluice.log())")
                #expect(output.stdout == "app|\(Clusters.scram.port)\n")
            }
            let wrong = try Tools.psql(connection, "SELECT 1", password: "not-the-password")
            #expect(wrong.status != 0)
            #expect(wrong.stderr.contains("password authentication failed for user \"app\""))
        }

        @Test func plainPasswordToSluice() throws {
            let sluice = try SluiceInstance(cluster: Clusters.trust, settings: ["auth_type": "plain"], userlist: [("app", password)])
            let client = try RawClient(port: sluice.port)
            guard case .ready = try client.login(user: "app", database: "app", password: password) else {
                Issue.record("plain login failed")
                return
            }
            #expect(try client.query("SELECT current_user").rows == [["app"]])
        }

        @Test func wrongPasswordAndUnknownUserGetTheSameAnswer() throws {
            for method in ["md5", "scram-sha-256", "plain"] {
                let sluice = try SluiceInstance(cluster: Clusters.trust, settings: ["auth_type": method], userlist: [("app", password)])
                let wrong = try RawClient(port: sluice.port).login(user: "app", database: "app", password: "wrong")
                let unknown = try RawClient(port: sluice.port).login(user: "nobody", database: "app", password: "wrong")
                guard case .refused(let wrongError) = wrong, case .refused(let unknownError) = unknown else {
                    Issue.record("\(method): a bad login was accepted")
                    continue
                }
                #expect(wrongError.code == "28P01")
                #expect(wrongError.message == "password authentication failed for user \"app\"")
                #expect(unknownError.code == "28P01")
                #expect(unknownError.message == "password authentication failed for user \"nobody\"")
            }
        }

        @Test func unknownDatabaseIsRefusedWith3D000() throws {
            let sluice = try SluiceInstance(cluster: Clusters.trust, userlist: [("app", password)],
                                            databases: "app = host=127.0.0.1 port=\(Clusters.trust.port)")
            guard case .refused(let error) = try RawClient(port: sluice.port).login(user: "app", database: "missing", password: password) else {
                Issue.record("login to an unknown database succeeded")
                return
            }
            #expect(error.code == "3D000")
            #expect(error.message == "database \"missing\" does not exist")
        }

        @Test func tooManyClientsIsRefusedWith53300() throws {
            let sluice = try SluiceInstance(cluster: Clusters.trust, settings: ["max_client_conn": "2"], userlist: [("app", password)])
            let first = try RawClient(port: sluice.port)
            let second = try RawClient(port: sluice.port)
            guard case .ready = try first.login(user: "app", database: "app", password: password),
                  case .ready = try second.login(user: "app", database: "app", password: password) else {
                Issue.record("the first two logins failed")
                return
            }
            guard case .refused(let error) = try RawClient(port: sluice.port).login(user: "app", database: "app", password: password) else {
                Issue.record("a third client got in past max_client_conn = 2")
                return
            }
            #expect(error.code == "53300")
        }

        @Test func sslRequestIsDeclinedAndLoginContinues() throws {
            let sluice = try SluiceInstance(cluster: Clusters.trust, userlist: [("app", password)])
            let client = try RawClient(port: sluice.port)
            client.send([0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F])
            #expect(try client.readByte() == UInt8(ascii: "N"))
            guard case .ready(let key, let parameters) = try client.login(user: "app", database: "app", password: password) else {
                Issue.record("login after SSLRequest failed")
                return
            }
            #expect(parameters["server_version"]?.hasPrefix("15") == true)
            let serverPID = try client.query("SELECT pg_backend_pid()").rows.first?.first ?? nil
            #expect(serverPID != nil && serverPID != String(key.processID), "the client must see Sluice's key, not the server's")
        }
    }
}
