import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// Transaction and statement pooling: many clients over a few servers, with nothing leaking
    /// between them.
    @Suite
    struct TransactionPoolingTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        func sluice(_ settings: [String: String] = [:]) throws -> SluiceInstance {
            var all = ["pool_mode": "transaction", "max_client_conn": "300"]
            all.merge(settings) { _, new in new }
            return try SluiceInstance(cluster: cluster, settings: all, userlist: [("app", password)])
        }


        /// Samples how many server connections PostgreSQL sees from Sluice while `body` runs.
        func peakBackends(during body: () throws -> Void) rethrows -> Int {
            let peak = Locked(0)
            let running = Locked(true)
            let cluster = cluster
            let sampler = Thread {
                while running.read({ $0 }) {
                    if let count = try? Clusters.backendCount(cluster) { peak.update { $0 = max($0, count) } }
                    usleep(50_000)
                }
            }
            sampler.start()
            defer { running.update { $0 = false } }
            try body()
            return peak.read { $0 }
        }

        @Test(arguments: ["simple", "extended"])
        func pgbenchHundredClientsOverFiveServers(mode: String) throws {
            try Clusters.pgbenchTables(cluster)
            let sluice = try sluice(["default_pool_size": "5"])
            var run: ProcessRunner.Output?
            let peak = try peakBackends {
                run = try Tools.pgbench(["-M", mode, "-c", "100", "-j", "2", "-t", "30", "-n",
                                         "-h", "127.0.0.1", "-p", String(sluice.port), "-U", "app", "app"], password: password)
            }
            let output = try #require(run)
            #expect(output.status == 0, "\(output.stderr)")
            #expect(Tools.pgbenchFigure(output.stdout, "number of transactions actually processed:") == 3000, "\(output.stdout)")
            #expect(Tools.pgbenchFigure(output.stdout, "number of failed transactions:") ?? 0 == 0)
            #expect(peak <= 5 && peak >= 1, "peak \(peak) server connections")
        }

        @Test func settingsStayWithTheirClientOnASharedServer() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let tokyo = try sluice.login(password: password)
            let other = try sluice.login(password: password)
            let defaultZone = try other.query("SHOW TimeZone").rows
            #expect(try tokyo.query("SET TimeZone = 'Asia/Tokyo'").error == nil)
            let firstPID = try tokyo.query("SELECT pg_backend_pid()").rows
            #expect(try other.query("SELECT pg_backend_pid()").rows == firstPID, "both clients share the one server")
            #expect(try other.query("SHOW TimeZone").rows == defaultZone)
            #expect(try tokyo.query("SHOW TimeZone").rows == [["Asia/Tokyo"]])
            #expect(try other.query("SHOW TimeZone").rows == defaultZone)
        }

        @Test func clientKilledMidTransactionLeavesNoLockBehind() throws {
            let sluice = try sluice(["default_pool_size": "2"])
            try cluster.psql("DROP TABLE IF EXISTS guarded; CREATE TABLE guarded (id int); GRANT ALL ON guarded TO app", database: "app")
            do {
                let doomed = try sluice.login(password: password)
                #expect(try doomed.query("BEGIN; LOCK TABLE guarded IN ACCESS EXCLUSIVE MODE; INSERT INTO guarded VALUES (1)").error == nil)
            }
            usleep(200_000)
            let next = try sluice.login(password: password)
            let locked = try next.query("SET lock_timeout = '2s'; LOCK TABLE guarded IN ACCESS EXCLUSIVE MODE")
            #expect(locked.error == nil, "\(String(describing: locked.error))")
            #expect(try next.query("SELECT count(*) FROM guarded").rows == [["0"]])
            let open = try cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND state LIKE 'idle in transaction%'")
            #expect(open == "0")
        }

        @Test func clientLeavingHalfwayThroughAMessageLeavesNothingForTheNext() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            do {
                let leaver = try sluice.login(password: password)
                let query = FrontendMessage.query("SELECT 'this query never finishes arriving', 1, 2, 3")
                leaver.send(Array(query.prefix(20)))
                usleep(200_000)
            }
            usleep(300_000)
            let next = try sluice.login(password: password)
            #expect(try next.query("SELECT 'clean'").rows == [["clean"]])
            #expect(try next.query("SELECT 2 + 2").rows == [["4"]])
        }

        @Test func copyInOutAndFailingCopyReturnTheServerCleanly() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let connection = sluice.connectionString(user: "app", database: "app")
            let dataFile = "\(sluice.directory)/copy.csv"
            try (1...1000).map { "\($0)" }.joined(separator: "\n").appending("\n").write(toFile: dataFile, atomically: true, encoding: .utf8)
            let script = """
                DROP TABLE IF EXISTS copy_target;
                CREATE TABLE copy_target (n int PRIMARY KEY);
                \\copy copy_target FROM '\(dataFile)'
                SELECT count(*) FROM copy_target;
                \\copy copy_target TO '\(sluice.directory)/out.csv'
                """
            let copy = try Tools.psqlScript(connection, script, password: password)
            #expect(copy.status == 0, "\(copy.stderr)")
            #expect(copy.stdout.contains("1000"))
            #expect(try String(contentsOfFile: "\(sluice.directory)/out.csv", encoding: .utf8).split(separator: "\n").count == 1000)

            // A COPY that fails half way (duplicate keys): the client gets the error, the server comes back clean.
            let failing = try Tools.psqlScript(connection, "\\copy copy_target FROM '\(dataFile)'\n", password: password)
            #expect(failing.status != 0)
            #expect(failing.stderr.contains("duplicate key"))
            let client = try sluice.login(password: password)
            #expect(try client.query("SELECT count(*) FROM copy_target").rows == [["1000"]])
            #expect(try client.query("SELECT 1").rows == [["1"]])
        }

        @Test func errorMidPipelineSkipsToSyncAndFlushKeepsTheServer() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let client = try sluice.login(password: password)
            let other = try sluice.login(password: password)
            // Flush without Sync: the server must stay with this client until the Sync comes.
            client.send(ExtendedProtocol.parse("", "SELECT $1::int * 2") + ExtendedProtocol.bind("21") + ExtendedProtocol.execute()
                        + [FrontendMessageType.flush, 0, 0, 0, 4])
            var types: [UInt8] = []
            while types.last != BackendMessageType.commandComplete, let (type, _) = try client.readMessage() { types.append(type) }
            #expect(types.contains(BackendMessageType.dataRow))
            let started = Date()
            let otherRows = Locked<[[String?]]?>(nil)
            let otherDone = DispatchSemaphore(value: 0)
            Thread {
                let rows = try? other.query("SELECT 'other'").rows
                otherRows.update { $0 = rows }
                otherDone.signal()
            }.start()
            usleep(300_000)
            // An error in the second of three synced groups: the third still runs.
            var pipeline = FrontendMessage.sync
            pipeline += ExtendedProtocol.parse("", "SELECT 1 / $1::int") + ExtendedProtocol.bind("0") + ExtendedProtocol.execute() + FrontendMessage.sync
            pipeline += ExtendedProtocol.parse("", "SELECT $1::int + 1") + ExtendedProtocol.bind("41") + ExtendedProtocol.execute() + FrontendMessage.sync
            client.send(pipeline)
            var errors = 0, ready = 0, lastRow: [UInt8] = []
            while ready < 3, let (type, body) = try client.readMessage() {
                if type == BackendMessageType.errorResponse { errors += 1 }
                if type == BackendMessageType.readyForQuery { ready += 1 }
                if type == BackendMessageType.dataRow { lastRow = Array(body.suffix(2)) }
            }
            #expect(errors == 1)
            #expect(String(decoding: lastRow, as: UTF8.self) == "42")
            otherDone.wait()
            #expect(Date().timeIntervalSince(started) >= 0.3, "the other client waited for the Sync")
            #expect(otherRows.read { $0 } == [["other"]])
            #expect(try client.query("SELECT 'after'").rows == [["after"]])
        }

        @Test func queryPipelinedBehindTheStartupPacketIsAnswered() throws {
            let sluice = try sluice(["auth_type": "trust", "default_pool_size": "1"])
            _ = try sluice.login(password: password).query("SELECT 1")
            let eager = try RawClient(port: sluice.port)
            eager.send(StartupPacket.startupMessage([StartupParameter(name: "user", value: "app"),
                                                     StartupParameter(name: "database", value: "app")])
                       + FrontendMessage.query("SELECT 'eager'"))
            var rows: [String] = []
            var ready = 0
            while ready < 2, let (type, body) = try eager.readMessage() {
                if type == BackendMessageType.readyForQuery { ready += 1 }
                if type == BackendMessageType.dataRow { rows.append(String(decoding: body.suffix(5), as: UTF8.self)) }
            }
            #expect(rows == ["eager"])
        }

        @Test func pipelinedQueriesAndExtendedSyncsArriveInOrder() throws {
            let sluice = try sluice(["default_pool_size": "1"])
            let client = try sluice.login(password: password)
            client.send(FrontendMessage.query("SELECT 1") + FrontendMessage.query("SELECT 2"))
            var seen: [UInt8] = []
            var readyCount = 0
            while readyCount < 2, let (type, _) = try client.readMessage() {
                seen.append(type)
                if type == BackendMessageType.readyForQuery { readyCount += 1 }
            }
            #expect(seen.filter { $0 == BackendMessageType.dataRow }.count == 2)

            var pipeline: [UInt8] = []
            for value in ["10", "20", "30"] {
                pipeline += ExtendedProtocol.parse("", "SELECT $1::int + 1") + ExtendedProtocol.bind(value)
                    + ExtendedProtocol.execute() + FrontendMessage.sync
            }
            client.send(pipeline)
            var rows: [String] = []
            readyCount = 0
            while readyCount < 3, let (type, body) = try client.readMessage() {
                if type == BackendMessageType.dataRow { rows.append(String(decoding: body.suffix(2), as: UTF8.self)) }
                if type == BackendMessageType.readyForQuery { readyCount += 1 }
            }
            #expect(rows == ["11", "21", "31"])
        }

        @Test(arguments: ["session", "transaction"])
        func cancelReachesTheServerRunningTheQuery(mode: String) throws {
            let sluice = try sluice(["pool_mode": mode, "default_pool_size": "2"])
            let client = try RawClient(port: sluice.port)
            guard case .ready(let key, _) = try client.login(user: "app", database: "app", password: password) else {
                Issue.record("login failed")
                return
            }
            RawClient.cancel(key, port: sluice.port, after: 0.5)
            let started = Date()
            #expect(try client.query("SELECT pg_sleep(10)").error?.code == "57014")
            #expect(Date().timeIntervalSince(started) < 8)
            #expect(try client.query("SELECT 3").rows == [["3"]])
        }

        @Test func queryWaitTimeoutEndsAWait() throws {
            let sluice = try sluice(["default_pool_size": "1", "query_wait_timeout": "1"])
            let holder = try sluice.login(password: password)
            #expect(try holder.query("BEGIN").error == nil)
            let waiter = try sluice.login(password: password)
            let started = Date()
            let result = try waiter.query("SELECT 1")
            #expect(result.error?.code == "08P01")
            #expect(result.error?.message == "query_wait_timeout")
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(try holder.query("COMMIT").error == nil)
        }

        @Test(arguments: ["30", "0"])
        func brokenIdleServerIsReplacedWithoutClientError(checkDelay: String) throws {
            let sluice = try sluice(["default_pool_size": "1", "server_check_delay": checkDelay])
            let client = try sluice.login(password: password)
            let first = try #require(try client.query("SELECT pg_backend_pid()").rows.first?.first ?? nil)
            #expect(try cluster.psql("SELECT pg_terminate_backend(\(first))") == "t")
            usleep(300_000)
            let second = try client.query("SELECT pg_backend_pid()")
            #expect(second.error == nil, "\(String(describing: second.error))")
            #expect(second.rows.first?.first != first)
            #expect(try client.query("SELECT 1").rows == [["1"]])
        }

        @Test func statementModeRefusesTransactionBlocks() throws {
            let sluice = try sluice(["pool_mode": "statement", "default_pool_size": "1"])
            let client = try sluice.login(password: password)
            #expect(try client.query("SELECT 1").rows == [["1"]])
            client.send(FrontendMessage.query("BEGIN"))
            var error: ErrorFields?
            while let (type, body) = try client.readMessage() {
                if type == BackendMessageType.errorResponse { error = ErrorFields(body: body) }
            }
            #expect(error?.code == "0A000")
            #expect(error?.message == "transaction blocks not allowed in statement pooling mode")
            let after = try sluice.login(password: password)
            #expect(try after.query("SELECT 2").rows == [["2"]])
        }

        @Test func reloadChangesPoolSizeWhilePgbenchRuns() throws {
            try Clusters.pgbenchTables(cluster)
            let sluice = try sluice(["default_pool_size": "2"])
            let config = try String(contentsOfFile: sluice.configPath, encoding: .utf8)
            Thread {
                usleep(1_000_000)
                try? config.replacingOccurrences(of: "default_pool_size = 2", with: "default_pool_size = 4")
                    .write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
                sluice.signal(SIGHUP)
            }.start()
            var run: ProcessRunner.Output?
            let peak = try peakBackends {
                run = try Tools.pgbench(["-c", "20", "-j", "2", "-T", "4", "-n", "-S",
                                         "-h", "127.0.0.1", "-p", String(sluice.port), "-U", "app", "app"], password: password)
            }
            let output = try #require(run)
            #expect(output.status == 0, "\(output.stderr)")
            #expect(Tools.pgbenchFigure(output.stdout, "number of failed transactions:") ?? 0 == 0)
            #expect(peak >= 3 && peak <= 4, "peak \(peak): the pool should have grown from 2 to 4")
            #expect(sluice.log().contains("configuration reloaded"))
        }
    }
}

/// Extended-protocol messages for the tests that pipeline them by hand.
enum ExtendedProtocol {
    static func parse(_ name: String, _ sql: String) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(FrontendMessageType.parse) { body in
            body.cString(name)
            body.cString(sql)
            body.int16(0)
        }
        return writer.bytes
    }

    /// Binds a statement that takes no parameters, unnamed portal.
    static func bind(statement: String) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(FrontendMessageType.bind) { body in
            body.cString("")
            body.cString(statement)
            body.int16(0)
            body.int16(0)
            body.int16(0)
        }
        return writer.bytes
    }

    /// Binds one text parameter to a statement (the unnamed one by default), unnamed portal.
    static func bind(_ value: String, statement: String = "") -> [UInt8] {
        var writer = MessageWriter()
        writer.message(FrontendMessageType.bind) { body in
            body.cString("")
            body.cString(statement)
            body.int16(0)
            body.int16(1)
            body.int32(Int32(value.utf8.count))
            body.raw(value.utf8)
            body.int16(0)
        }
        return writer.bytes
    }

    static func describeStatement(_ name: String) -> [UInt8] { ExtendedQueryMessage.describeStatement(name) }
    static func closeStatement(_ name: String) -> [UInt8] { ExtendedQueryMessage.closeStatement(name) }
    static let sync = FrontendMessage.sync

    static func execute() -> [UInt8] {
        var writer = MessageWriter()
        writer.message(FrontendMessageType.execute) { body in
            body.cString("")
            body.int32(0)
        }
        return writer.bytes
    }
}
