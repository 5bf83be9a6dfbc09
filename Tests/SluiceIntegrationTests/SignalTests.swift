import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// Signals, as PgBouncer 1.23 gives them: SIGINT stops accepting, lets transactions in
    /// flight finish and exits 0; SIGTERM stops accepting and waits for every client to leave
    /// (a second SIGTERM ends at once); SIGQUIT ends at once. SIGHUP with a broken
    /// configuration keeps the running one.
    @Suite
    struct SignalTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        private func started() throws -> (SluiceInstance, busy: RawClient, idle: RawClient) {
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "default_pool_size": "2"],
                                            userlist: [("app", password)])
            let busy = try RawClient(port: sluice.port)
            let idle = try RawClient(port: sluice.port)
            for client in [busy, idle] {
                guard case .ready = try client.login(user: "app", database: "app", password: password) else {
                    throw HarnessError("login failed")
                }
            }
            #expect(try busy.query("BEGIN").error == nil)
            return (sluice, busy, idle)
        }

        @Test func interruptLetsTransactionsInFlightFinish() throws {
            let (sluice, busy, idle) = try started()
            sluice.signal(SIGINT)
            usleep(300_000)

            #expect(try idle.readMessage().flatMap { ErrorFields(body: $0.body) }?.code == "57P01", "a client between transactions is let go at once")
            #expect(!RawClient.canConnect(port: sluice.port), "no new connections")
            #expect(try busy.query("SELECT 41 + 1").rows == [["42"]], "the open transaction goes on")
            #expect(try busy.query("COMMIT").error == nil, "the commit is answered")
            #expect(try busy.readMessage().flatMap { ErrorFields(body: $0.body) }?.code == "57P01", "then the client is let go")
            sluice.process.waitUntilExit()
            #expect(sluice.process.terminationStatus == 0)
        }

        @Test func terminateWaitsForEveryClientToLeave() throws {
            let (sluice, busy, idle) = try started()
            sluice.signal(SIGTERM)
            usleep(300_000)

            #expect(!RawClient.canConnect(port: sluice.port), "no new connections")
            #expect(try busy.query("COMMIT").error == nil)
            #expect(try busy.query("SELECT 6 * 7").rows == [["42"]], "clients go on with new transactions")
            #expect(try idle.query("SELECT 1").rows == [["1"]])
            busy.hangUp()
            usleep(200_000)
            #expect(sluice.process.isRunning, "one client is still connected")
            idle.hangUp()
            sluice.process.waitUntilExit()
            #expect(sluice.process.terminationStatus == 0)
        }

        @Test func secondTerminateEndsAtOnce() throws {
            let (sluice, busy, _) = try started()
            sluice.signal(SIGTERM)
            usleep(200_000)
            sluice.signal(SIGTERM)
            sluice.process.waitUntilExit()
            #expect(sluice.process.terminationStatus == 0)
            #expect(try busy.readMessage().flatMap { ErrorFields(body: $0.body) }?.code == "57P01", "the client in a transaction is told why")
        }

        @Test func quitEndsAtOnce() throws {
            let (sluice, busy, _) = try started()
            sluice.signal(SIGQUIT)
            sluice.process.waitUntilExit()
            #expect(sluice.process.terminationStatus == 0)
            #expect(try busy.readMessage().flatMap { ErrorFields(body: $0.body) }?.code == "57P01")
        }

        @Test func invalidConfigurationOnReloadKeepsTheRunningOne() throws {
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction"], userlist: [("app", password)])
            let client = try sluice.login(password: password)
            let good = try String(contentsOfFile: sluice.configPath, encoding: .utf8)
            try (good + "pool_mode = sometimes\n").write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
            sluice.signal(SIGHUP)
            usleep(500_000)
            #expect(sluice.log().contains("reload failed, keeping the running configuration"))
            #expect(sluice.log().contains("pool_mode: invalid value \"sometimes\""))
            #expect(try client.query("SELECT 8").rows == [["8"]])
            #expect(try sluice.login(password: password).query("SELECT 9").rows == [["9"]], "new clients still get in")
        }

        /// Log rotation: after the file is moved away, SIGHUP starts a new one at the same path;
        /// a pidfile change is refused until a restart, and says so.
        @Test func reloadReopensTheLogFile() throws {
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction"], userlist: [("app", password)])
            let rotated = sluice.logPath + ".1"
            #expect(rename(sluice.logPath, rotated) == 0)
            let config = try String(contentsOfFile: sluice.configPath, encoding: .utf8)
            try (config + "pidfile = \(sluice.directory)/moved.pid\n").write(toFile: sluice.configPath, atomically: true, encoding: .utf8)
            sluice.signal(SIGHUP)
            #expect(eventually(within: 3) { sluice.log().contains("configuration reloaded") }, "a new log file at the configured path")
            #expect(sluice.log().contains("reload: a restart is needed to change pidfile"), "\(sluice.log())")
            let old = (try? String(contentsOfFile: rotated, encoding: .utf8)) ?? ""
            #expect(old.contains("started") && !old.contains("configuration reloaded"), "the rotated file got nothing more")
            #expect(try sluice.login(password: password).query("SELECT 10").rows == [["10"]])
        }
    }
}
