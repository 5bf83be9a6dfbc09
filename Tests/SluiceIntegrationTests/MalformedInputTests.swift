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
    }
}
