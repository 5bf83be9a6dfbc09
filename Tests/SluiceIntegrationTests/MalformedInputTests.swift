import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// Broken or hostile bytes before and after login: each gets a clear error or a close, and
    /// a well-behaved client is served right after.
    @Suite
    struct MalformedInputTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        /// The first ErrorResponse a connection that sent `bytes` gets before Sluice closes it;
        /// throws if Sluice leaves the connection open (the read times out after 5 s).
        func errorBeforeClose(after bytes: [UInt8], port: Int) throws -> ErrorFields? {
            let client = try RawClient(port: port, timeout: 5)
            client.send(bytes)
            var error: ErrorFields?
            while let (type, body) = try client.readMessage() {
                if type == BackendMessageType.errorResponse && error == nil { error = ErrorFields(body: body) }
            }
            return error
        }

        static let cases: [(name: String, bytes: [UInt8], code: String)] = [
            ("huge startup length", [0x00, 0x10, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00], "08P01"),
            ("negative startup length", [0xFF, 0xFF, 0xFF, 0xF0, 0x00, 0x03, 0x00, 0x00], "08P01"),
            ("protocol 2.0", StartupPacket.startupMessage([]).enumerated().map { $0.offset == 5 ? 2 : $0.element }, "0A000"),
            ("HTTP request", Array("GET / HTTP/1.1\r\nHost: sluice\r\n\r\n".utf8), "08P01"),
            ("startup without terminator", [0, 0, 0, 17, 0, 3, 0, 0] + Array("user\0app\0".utf8), "08P01"),
            ("protocol 4.0", StartupPacket.startupMessage([]).enumerated().map { $0.offset == 5 ? 4 : $0.element }, "0A000"),
            ("oversized startup packet", [0, 0, 0x30, 0, 0, 3, 0, 0] + [UInt8](repeating: 0x41, count: 12_280), "08P01"),
        ]

        @Test(arguments: 0..<cases.count)
        func badStartupGetsAnErrorAndOthersAreServed(index: Int) throws {
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction"], userlist: [("app", password)])
            let (name, bytes, code) = Self.cases[index]
            let error = try errorBeforeClose(after: bytes, port: sluice.port)
            #expect(error?.code == code, "\(name): \(String(describing: error))")
            #expect(try sluice.login(password: password).query("SELECT 1").rows == [["1"]], "\(name)")
        }

        @Test func halfSentStartupThenSilenceIsClosedByTheLoginTimeout() throws {
            let sluice = try SluiceInstance(cluster: cluster, settings: ["client_login_timeout": "1"], userlist: [("app", password)])
            let started = Date()
            let halfSent = Array(StartupPacket.startupMessage([StartupParameter(name: "user", value: "app")]).prefix(10))
            let error = try errorBeforeClose(after: halfSent, port: sluice.port)
            #expect(error?.message == "client_login_timeout")
            #expect(Date().timeIntervalSince(started) < 4)
            #expect(try sluice.login(password: password).query("SELECT 1").rows == [["1"]])
        }

        @Test func messageWithImpossibleLengthAfterLoginEndsOnlyThatClient() throws {
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction"], userlist: [("app", password)])
            let bystander = try sluice.login(password: password)
            let broken = try sluice.login(password: password)
            broken.send([UInt8(ascii: "Q"), 0, 0, 0, 2])
            var error: ErrorFields?
            while let (type, body) = try broken.readMessage() {
                if type == BackendMessageType.errorResponse { error = ErrorFields(body: body) }
            }
            #expect(error?.code == "08P01")
            #expect(try bystander.query("SELECT 'still here'").rows == [["still here"]])
        }

        /// Garbage that is not even a length: closed, and nothing is held for it.
        @Test func randomGarbageIsClosed() throws {
            let sluice = try SluiceInstance(cluster: cluster, userlist: [("app", password)])
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<5 {
                let garbage = (0..<200).map { _ in UInt8.random(in: 0...255, using: &generator) }
                _ = try errorBeforeClose(after: garbage, port: sluice.port)
            }
            #expect(try sluice.login(password: password).query("SELECT 1").rows == [["1"]])
        }

        /// After login, max_packet_size bounds every message: a longer one ends that client.
        @Test func aMessageLongerThanMaxPacketSizeEndsOnlyThatClient() throws {
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "max_packet_size": "4096"],
                                            userlist: [("app", password)])
            let bystander = try sluice.login(password: password)
            let big = try sluice.login(password: password)
            let error = try big.query("SELECT '" + String(repeating: "x", count: 5000) + "'").error
            #expect(error?.code == "54000", "\(String(describing: error))")
            #expect(error?.message.contains("max_packet_size") == true)
            #expect(try bystander.query("SELECT 'small'").rows == [["small"]])
        }

        /// A failed login waits before its answer, the same for an unknown user as for a wrong
        /// password, and no password reaches the log.
        @Test func failedLoginsAreSlowAlikeAndLeaveNoSecretInTheLog() throws {
            let sluice = try SluiceInstance(cluster: cluster, settings: ["auth_failure_delay": "0.4", "auth_type": "scram-sha-256"],
                                            userlist: [("app", password)])
            var answers: [String] = []
            for user in ["app", "nobody"] {
                let started = Date()
                let client = try RawClient(port: sluice.port)
                guard case .refused(let error) = try client.login(user: user, database: "app", password: "wrong-guess-\(user)") else {
                    Issue.record("\(user) logged in with a wrong password")
                    continue
                }
                #expect(Date().timeIntervalSince(started) >= 0.4, "\(user) answered too soon")
                answers.append(error.code + " " + error.message.replacingOccurrences(of: user, with: "USER"))
            }
            #expect(answers.count == 2 && answers[0] == answers[1], "\(answers)")
            #expect(try sluice.login(password: password).query("SELECT 1").rows == [["1"]])
            let log = sluice.terminate()
            for secret in [password, "wrong-guess-app", "wrong-guess-nobody"] {
                #expect(!log.contains(secret), "the log holds \(secret)")
            }
        }

        /// A thousand connections that never finish their startup packet, held open while
        /// pgbench runs: pgbench sees no error, and Sluice's memory stays bounded.
        @Test func aThousandStalledLoginsDoNotHurtOthers() throws {
            try Clusters.pgbenchTables(cluster)
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "max_client_conn": "2000"],
                                            userlist: [("app", password)])
            let before = residentKiB(sluice)
            let halfSent = Array(StartupPacket.startupMessage([StartupParameter(name: "user", value: "app")]).prefix(6))
            let stalled = try (0..<1000).map { _ in
                let client = try RawClient(port: sluice.port)
                client.send(halfSent)
                return client
            }
            let run = try Tools.pgbench(["-S", "-c", "8", "-j", "2", "-T", "3", "-n", "-h", "127.0.0.1", "-p", String(sluice.port),
                                         "-U", "app", "app"], password: password)
            let during = residentKiB(sluice)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(Tools.pgbenchFigure(run.stdout, "number of failed transactions:") ?? 0 == 0)
            print("Sluice RSS: \(before) KiB before, \(during) KiB with 1,000 stalled logins and pgbench running")
            #expect(during - before < 64 * 1024, "RSS grew from \(before) to \(during) KiB")
            withExtendedLifetime(stalled) {}
        }

        func residentKiB(_ sluice: SluiceInstance) -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(sluice.process.processIdentifier)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
    }
}
