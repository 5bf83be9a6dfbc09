import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// A fake PostgreSQL that does not know the password (Drivers/hostile_server.py) answers on
    /// the server's address and tries to get a client's queries by skipping or forging the
    /// proof of the secret, or by asking for a weaker method than `server_auth_methods` allows.
    /// The client gets an error and the fake gets no query, nor the password.
    @Suite
    struct HostileServerTests {
        let password = Clusters.password

        /// The fake server in `mode`, the file it logs received message types to, and its port.
        final class FakeServer {
            let process = Process()
            let logPath: String
            let port: Int

            init(mode: String) throws {
                logPath = NSTemporaryDirectory() + "hostile-\(getpid())-\(mode)-\(UInt32.random(in: 0...UInt32.max)).log"
                let portPath = logPath + ".port"
                defer { unlink(portPath) }
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["python3", "\(DriverTests.drivers)/hostile_server.py", mode, logPath, portPath]
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                var port: Int?
                _ = eventually(within: 10) {
                    port = (try? String(contentsOfFile: portPath, encoding: .utf8)).flatMap { Int($0) }
                    return port != nil
                }
                guard let port else { throw HarnessError("the fake server did not start") }
                self.port = port
            }

            /// The type letters of the messages it received, in order.
            var received: [String] {
                ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            }

            deinit {
                // SIGKILL: the fake's accept loop need not end politely.
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                unlink(logPath)
            }
        }

        /// Logs a client in through a Sluice in front of `fake` and runs a query; returns the
        /// SQLSTATE the client got, or nil when the query ran.
        func attempt(through fake: FakeServer, settings: [String: String] = [:]) throws -> (code: String?, log: String) {
            let sluice = try SluiceInstance(cluster: Clusters.trust, settings: ["pool_mode": "transaction"].merging(settings) { $1 },
                                            userlist: [("app", password)],
                                            databases: "app = host=127.0.0.1 port=\(fake.port)")
            let client = try RawClient(port: sluice.port)
            switch try client.login(user: "app", database: "app", password: password) {
            case .refused(let error):
                return (error.code, sluice.log())
            case .ready:
                let result = try client.query("SELECT 1")
                return (result.error?.code, sluice.log())
            }
        }

        @Test(arguments: [("ready-first", "08P01"), ("scram-skip-final", "08P01"), ("scram-ok-early", "28000"), ("scram-forged-final", "28000")])
        func aServerThatCannotProveItKnowsThePasswordGetsNoQuery(mode: String, code: String) throws {
            let fake = try FakeServer(mode: mode)
            let (got, log) = try attempt(through: fake)
            #expect(got == code, "\(log)")
            #expect(!fake.received.contains("Q") && !fake.received.contains("P"), "\(fake.received)")
            #expect(log.contains("login failed"), "the log says why: \(log)")
        }

        @Test func scramOnlyRefusesAServerAskingForTheCleartextPassword() throws {
            let fake = try FakeServer(mode: "cleartext")
            let (got, log) = try attempt(through: fake, settings: ["server_auth_methods": "scram-sha-256"])
            #expect(got == "28000", "\(log)")
            #expect(fake.received.isEmpty, "not even the password was sent: \(fake.received)")
            #expect(log.contains("server_auth_methods = scram-sha-256 does not allow"), "\(log)")
        }

        @Test func scramOnlyRefusesAServerThatAsksForNothing() throws {
            let fake = try FakeServer(mode: "trust")
            let (got, log) = try attempt(through: fake, settings: ["server_auth_methods": "scram-sha-256"])
            #expect(got == "28000", "\(log)")
            #expect(!fake.received.contains("Q"), "\(fake.received)")
        }

        /// The control: by default a trust server is PostgreSQL with `trust` in pg_hba.conf, and
        /// the fake does see the query (so the assertions above could fail).
        @Test func byDefaultATrustServerServes() throws {
            let fake = try FakeServer(mode: "trust")
            let (got, log) = try attempt(through: fake)
            #expect(got == nil, "\(log)")
            #expect(fake.received.contains("Q"), "\(fake.received)")
        }
    }
}
