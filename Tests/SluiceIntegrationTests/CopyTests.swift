import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// COPY through a one-server pool in transaction mode, in both protocols and both
    /// directions: after each, the server goes back to the pool and the next client gets it.
    /// PostgreSQL ignores a Sync sent during COPY FROM STDIN; a pooler that counts it keeps
    /// the server forever.
    @Suite
    struct CopyTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        func sluice(preparedStatements: String) throws -> SluiceInstance {
            try cluster.psql("DROP TABLE IF EXISTS copied; CREATE TABLE copied (n int, note text); GRANT ALL ON copied TO app", database: "app")
            return try SluiceInstance(cluster: cluster, settings: [
                "pool_mode": "transaction", "default_pool_size": "1", "query_wait_timeout": "3",
                "max_prepared_statements": preparedStatements,
            ], userlist: [("app", password)])
        }

        static func copyData(_ text: String) -> [UInt8] {
            var writer = MessageWriter()
            writer.message(FrontendMessageType.copyData) { $0.raw(text.utf8) }
            return writer.bytes
        }

        /// Parse, Bind, Execute and Sync for `sql`, unnamed.
        static func extended(_ sql: String) -> [UInt8] {
            ExtendedProtocol.parse("", sql) + ExtendedProtocol.bind(statement: "") + ExtendedProtocol.execute() + ExtendedProtocol.sync
        }

        static let copyDone: [UInt8] = [FrontendMessageType.copyDone, 0, 0, 0, 4]

        /// Reads up to ReadyForQuery; the message types seen, as letters, and the errors.
        func readToReady(_ client: RawClient) throws -> (types: String, errors: [String]) {
            var types = ""
            var errors: [String] = []
            while let (type, body) = try client.readMessage() {
                types.append(Character(UnicodeScalar(type)))
                if type == BackendMessageType.errorResponse { errors.append(ErrorFields(body: body)?.code ?? "?") }
                if type == BackendMessageType.readyForQuery { break }
            }
            return (types, errors)
        }

        /// A client of a fresh one-server pool that sent the extended COPY FROM STDIN and got
        /// CopyInResponse.
        func copyingClient() throws -> (SluiceInstance, RawClient) {
            let sluice = try sluice(preparedStatements: "200")
            let client = try sluice.login(password: password)
            client.send(Self.extended("COPY copied (n, note) FROM STDIN"))
            #expect(try awaitCopyIn(client))
            return (sluice, client)
        }

        /// Reads ParseComplete and BindComplete; true when CopyInResponse follows.
        func awaitCopyIn(_ client: RawClient) throws -> Bool {
            while let (type, _) = try client.readMessage() {
                if type == BackendMessageType.copyInResponse { return true }
                guard type == BackendMessageType.parseComplete || type == BackendMessageType.bindComplete else { return false }
            }
            return false
        }

        /// Another client on the same one-server pool gets the server within query_wait_timeout.
        func nextClientIsServed(_ sluice: SluiceInstance) throws {
            let next = try sluice.login(password: password)
            let result = try next.query("SELECT count(*) FROM copied")
            #expect(result.error == nil, "the server was returned to the pool: \(String(describing: result.error))\n\(sluice.log())")
        }

        /// The sequence tokio-postgres sends: Parse, Bind, Execute, Sync, then, once the
        /// server asked for the data, CopyData, CopyDone and Sync.
        @Test(arguments: ["0", "200"])
        func extendedCopyInReturnsTheServer(preparedStatements: String) throws {
            let sluice = try sluice(preparedStatements: preparedStatements)
            let client = try sluice.login(password: password)
            client.send(Self.extended("COPY copied (n, note) FROM STDIN"))
            #expect(try awaitCopyIn(client))
            client.send(Self.copyData("1\tone\n") + Self.copyData("2\ttwo\n") + Self.copyDone + ExtendedProtocol.sync)
            let rest = try readToReady(client)
            #expect(rest.types.hasSuffix("CZ") && rest.errors.isEmpty, "\(rest)")
            try nextClientIsServed(sluice)
            #expect(try client.query("SELECT count(*) FROM copied").rows == [["2"]])
        }

        /// Everything in one write, before the server's CopyInResponse can have arrived.
        @Test func extendedCopyInSentInOneGo() throws {
            let sluice = try sluice(preparedStatements: "200")
            let client = try sluice.login(password: password)
            client.send(Self.extended("COPY copied (n, note) FROM STDIN") + Self.copyData("3\tthree\n") + Self.copyDone + ExtendedProtocol.sync)
            let rest = try readToReady(client)
            #expect(rest.types.hasSuffix("GCZ") && rest.errors.isEmpty, "\(rest)")
            try nextClientIsServed(sluice)
        }

        @Test func extendedCopyFailReturnsTheServer() throws {
            let (sluice, client) = try copyingClient()
            client.send(Self.copyData("4\tfour\n") + FrontendMessage.copyFail("changed my mind") + ExtendedProtocol.sync)
            let rest = try readToReady(client)
            #expect(rest.errors == ["57014"], "\(rest)")
            try nextClientIsServed(sluice)
        }

        /// Bad data: PostgreSQL rejects it midway, skips to the Sync and drops the CopyDone.
        @Test func extendedCopyWithBadDataReturnsTheServer() throws {
            let (sluice, client) = try copyingClient()
            client.send(Self.copyData("not a number\tx\n") + Self.copyDone + ExtendedProtocol.sync)
            let rest = try readToReady(client)
            #expect(rest.errors == ["22P02"], "\(rest)")
            try nextClientIsServed(sluice)
        }

        @Test func extendedCopyOutReturnsTheServer() throws {
            let sluice = try sluice(preparedStatements: "200")
            let client = try sluice.login(password: password)
            client.send(Self.extended("COPY (SELECT 1 UNION ALL SELECT 2) TO STDOUT"))
            let rest = try readToReady(client)
            #expect(rest.types.hasSuffix("HddcCZ") && rest.errors.isEmpty, "\(rest)")
            try nextClientIsServed(sluice)
        }

        /// psql's \copy: the simple protocol.
        @Test func psqlCopyThenAnotherClient() throws {
            let sluice = try sluice(preparedStatements: "200")
            let data = NSTemporaryDirectory() + "copy-\(getpid()).tsv"
            try "5\tfive\n6\tsix\n".write(toFile: data, atomically: true, encoding: .utf8)
            defer { unlink(data) }
            let output = try Tools.psql(sluice.connectionString(user: "app", database: "app"), "\\copy copied (n, note) from '\(data)'", password: password)
            #expect(output.status == 0, "\(output.stderr)")
            try nextClientIsServed(sluice)
        }
    }
}
