import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests.AdminConsoleTests {
    /// Reads a command's answer: its tag, or the error's SQLSTATE and message.
    func answer(_ console: RawClient) throws -> (tag: String?, error: ErrorFields?) {
        var result: (tag: String?, error: ErrorFields?) = (nil, nil)
        while let (type, body) = try console.readMessage() {
            if type == BackendMessageType.commandComplete { result.tag = String(decoding: body.dropLast(), as: UTF8.self) }
            if type == BackendMessageType.errorResponse { result.error = ErrorFields(body: body) }
            if type == BackendMessageType.readyForQuery { break }
        }
        return result
    }

    /// The rows answering a query already sent, read up to ReadyForQuery.
    func rows(answering client: RawClient) throws -> [[String?]] {
        var rows: [[String?]] = []
        while let (type, body) = try client.readMessage() {
            if type == BackendMessageType.dataRow { rows.append(BackendMessage.decodeDataRow(body)) }
            if type == BackendMessageType.readyForQuery { break }
        }
        return rows
    }

    /// KILL drops the database's clients and servers at once; a client that logs in after
    /// waits with its query until RESUME.
    @Test func killDropsClientsAndServersAndHoldsNewOnesUntilResume() throws {
        let sluice = try sluice()
        let victim = try sluice.login(password: password)
        #expect(try victim.query("BEGIN").error == nil)
        let admin = try console(sluice)
        #expect(try admin.query("KILL app").error == nil)
        #expect(try victim.readMessage().flatMap { ErrorFields(body: $0.body) }?.code == "57P01")
        #expect(try eventually(within: 3) { try Clusters.backendCount(cluster) == 0 }, "KILL closed the servers")

        let later = try sluice.login(password: password)
        later.send(FrontendMessage.query("SELECT 'after resume'"))
        usleep(300_000)
        #expect(try Clusters.backendCount(cluster) == 0, "the query waits")
        #expect(try admin.query("RESUME app").error == nil)
        #expect(try rows(answering: later) == [["after resume"]])
        #expect(try admin.query("KILL_CLIENT nobody").error?.code == "42704")
    }

    /// KILL also closes a server still opening (here in its connect_query): it never joins the
    /// pool to sit there idle after the KILL.
    @Test func killClosesServersStillOpening() throws {
        let marker = "SELECT pg_sleep(1.5) -- kill while opening"
        let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "default_pool_size": "2",
                                                                      "admin_users": "admin"],
                                        userlist: [("app", password), ("admin", "admin-secret")],
                                        databases: "app = host=127.0.0.1 port=\(cluster.port) connect_query='\(marker)'")
        func opening() throws -> Int {
            Int(try cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND query = '\(marker)'")) ?? -1
        }
        let holder = try sluice.login(password: password)
        #expect(try holder.query("BEGIN").error == nil)
        let waiter = try sluice.login(password: password)
        waiter.send(FrontendMessage.query("SELECT 1"))
        #expect(try eventually(within: 5) { try opening() == 1 }, "a second server runs its connect_query")
        let admin = try console(sluice)
        #expect(try admin.query("KILL app").error == nil)
        #expect(try waiter.readMessage().flatMap { ErrorFields(body: $0.body) }?.code == "57P01")
        #expect(try eventually(within: 5) { try opening() == 0 }, "the opening server was closed, not pooled")
        #expect(try showRows(admin, "SERVERS").filter { $0["database"] == "app" }.isEmpty)
    }

    /// DISABLE refuses new logins to a database while its clients carry on; ENABLE lets them in.
    @Test func disableRefusesNewLoginsUntilEnable() throws {
        let sluice = try sluice()
        let present = try sluice.login(password: password)
        let admin = try console(sluice)
        #expect(try admin.query("DISABLE app").error == nil)
        let refused = try RawClient(port: sluice.port)
        guard case .refused(let error) = try refused.login(user: "app", database: "app", password: password) else {
            Issue.record("a login to a disabled database got in")
            return
        }
        #expect(error.code == "55000", "\(error.message)")
        #expect(try present.query("SELECT 2").rows == [["2"]], "a client already in carries on")
        #expect(try admin.query("ENABLE app").error == nil)
        #expect(try sluice.login(password: password).query("SELECT 3").rows == [["3"]])
    }

    /// RECONNECT closes idle servers at once and busy ones when their transaction ends;
    /// WAIT_CLOSE answers once none is left open.
    @Test func reconnectClosesServersAsTheyAreReleasedAndWaitCloseWaitsForThem() throws {
        let sluice = try sluice()
        let busy = try sluice.login(password: password)
        let other = try sluice.login(password: password)
        #expect(try other.query("BEGIN").error == nil)
        #expect(try busy.query("BEGIN").error == nil)
        #expect(try other.query("COMMIT").error == nil)
        let oldPID = try busy.query("SELECT pg_backend_pid()").rows.first?.first ?? nil
        #expect(try Clusters.backendCount(cluster) == 2)
        let admin = try console(sluice)
        #expect(try admin.query("RECONNECT app").error == nil)
        #expect(try eventually(within: 3) { try Clusters.backendCount(cluster) == 1 }, "the idle server closed at once")
        #expect(try showRows(admin, "SERVERS").map { $0["close_needed"] } == ["1"], "the busy one waits to close")
        admin.send(FrontendMessage.query("WAIT_CLOSE app"))
        usleep(300_000)
        #expect(try busy.query("SELECT 5").rows == [["5"]], "the transaction goes on meanwhile")
        #expect(try busy.query("COMMIT").error == nil)
        #expect(try answer(admin).tag == "WAIT_CLOSE")
        #expect(try cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE pid = \(oldPID ?? "0")") == "0",
                "WAIT_CLOSE answered after the server closed")
        let newPID = try busy.query("SELECT pg_backend_pid()").rows.first?.first ?? nil
        #expect(newPID != oldPID, "the next transaction runs on a new server")
    }

    /// SET changes a reloadable setting (SHOW CONFIG tells), refuses restart-only and unknown
    /// ones, and is for admin_users only.
    @Test func setChangesReloadableSettings() throws {
        let sluice = try sluice()
        let admin = try console(sluice)
        #expect(try admin.query("SET default_pool_size = 7").error == nil)
        #expect(try showRows(admin, "CONFIG").first { $0["key"] == "default_pool_size" }?["value"] == "7")
        #expect(try admin.query("SET query_timeout TO '3'").error == nil)
        #expect(try showRows(admin, "CONFIG").first { $0["key"] == "query_timeout" }?["value"] == "3")
        let restart = try admin.query("SET listen_port = 7000").error
        #expect(restart?.code == "22023")
        #expect(restart?.message.contains("restart") == true, "\(restart?.message ?? "")")
        #expect(try admin.query("SET no_such_setting = 1").error?.code == "22023")
        #expect(try admin.query("SET default_pool_size = many").error?.code == "22023")
        #expect(try admin.query("SET auth_file = /tmp/x").error?.code == "22023")
        let watcher = try console(sluice, user: "watcher", password: "watcher-secret")
        #expect(try watcher.query("SET default_pool_size = 1").error?.code == "42501")
        #expect(try sluice.login(password: password).query("SELECT 4").rows == [["4"]])
    }

    /// A RELOAD that changes how a database's servers are opened closes the open ones as they
    /// are released; one that changes only pool sizes keeps them.
    @Test func reloadWithNewConnectionSettingsReplacesTheServers() throws {
        let sluice = try sluice()
        let client = try sluice.login(password: password)
        let firstPID = try client.query("SELECT pg_backend_pid()").rows.first?.first ?? nil
        let admin = try console(sluice)
        let original = try String(contentsOfFile: sluice.configPath, encoding: .utf8)
        try original.replacingOccurrences(of: "default_pool_size = 2", with: "default_pool_size = 3")
            .write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
        #expect(try admin.query("RELOAD").error == nil)
        #expect(try client.query("SELECT pg_backend_pid()").rows.first?.first ?? nil == firstPID, "a pool size change keeps servers")

        let changed = original.replacingOccurrences(of: "default_pool_size = 2", with: "default_pool_size = 3")
            .replacingOccurrences(of: "port=\(cluster.port)", with: "port=\(cluster.port) connect_query='SELECT 1'")
        #expect(changed != original, "the test found the database entry")
        try changed.write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
        #expect(try admin.query("RELOAD").error == nil)
        #expect(try eventually(within: 3) { try Clusters.backendCount(cluster) == 0 }, "the idle server closed")
        #expect(try client.query("SELECT pg_backend_pid()").rows.first?.first ?? nil != firstPID)
    }

    /// SHUTDOWN WAIT_FOR_CLIENTS stops accepting and ends once the last client (the console
    /// among them) has left.
    @Test func shutdownWaitForClientsEndsWhenTheLastClientLeaves() throws {
        let sluice = try sluice()
        let client = try sluice.login(password: password)
        let admin = try console(sluice)
        #expect(try admin.query("SHUTDOWN WAIT_FOR_CLIENTS").error == nil)
        usleep(200_000)
        #expect(!RawClient.canConnect(port: sluice.port), "no new connections")
        #expect(try client.query("SELECT 11").rows == [["11"]])
        admin.hangUp()
        client.hangUp()
        #expect(eventually(within: 5) { !sluice.process.isRunning }, "Sluice did not stop")
        #expect(sluice.process.terminationStatus == 0)
    }
}

extension IntegrationTests.AdminConsoleTests {
    /// DISABLE names a database of the configuration: without a `*` entry, another name is an error.
    @Test func disableAnUnknownDatabaseIsAnError() throws {
        let sluice = try SluiceInstance(cluster: cluster, settings: ["admin_users": "admin", "auth_failure_delay": "0"],
                                        userlist: [("admin", "admin-secret")],
                                        databases: "app = host=127.0.0.1 port=\(cluster.port)")
        let admin = try console(sluice)
        for command in ["DISABLE nosuch", "PAUSE nosuch", "KILL nosuch", "RECONNECT nosuch", "WAIT_CLOSE nosuch"] {
            #expect(try admin.query(command).error?.code == "42704", "\(command)")
        }
        #expect(try admin.query("DISABLE app").error == nil)
        #expect(try showRows(admin, "DATABASES").first { $0["name"] == "app" }?["disabled"] == "1")
        try "[databases]\nthis is not a configuration\n".write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
        let failed = try admin.query("RELOAD").error
        #expect(failed?.code == "F0000")
        #expect(failed?.message.contains("keeping the running configuration") == true)
    }
}
