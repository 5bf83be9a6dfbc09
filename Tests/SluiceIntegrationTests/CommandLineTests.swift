import Foundation
import PostgresWire
import SluiceLocalCluster
import Testing

extension IntegrationTests {
    /// PgBouncer's command line: -d detaches, -R takes over from the running Sluice, -u drops
    /// root; a pid file that names a running Sluice stops a second start.
    @Suite
    struct CommandLineTests {
        let cluster = Clusters.trust
        let password = Clusters.password

        private func pid(in path: String) -> pid_t? {
            (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }

        private func isRunning(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 }

        @Test func daemonDetachesWritesThePidFileAndStopsOnSignal() throws {
            let pidfile = "/tmp/sluice-daemon-\(getpid()).pid"
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "pidfile": pidfile],
                                            userlist: [("app", password)], options: ["-d"])
            sluice.process.waitUntilExit()
            #expect(sluice.process.terminationStatus == 0, "the starting process exits once the daemon runs")
            let daemon = try #require(pid(in: pidfile))
            #expect(daemon != sluice.process.processIdentifier)
            #expect(try sluice.login(password: password).query("SELECT 21 * 2").rows == [["42"]])
            #expect(getsid(daemon) == daemon, "the daemon leads a session of its own")
            kill(daemon, SIGINT)
            #expect(eventually(within: 5) { !isRunning(daemon) }, "the daemon stops on SIGINT")
            #expect(!FileManager.default.fileExists(atPath: pidfile), "and removes its pid file")
        }

        /// Runs the binary with `options` and a small valid configuration; its exit status and
        /// standard error.
        private func refusal(_ options: [String]) throws -> (status: Int32, errors: String) {
            let errors = Pipe()
            let directory = NSTemporaryDirectory() + "sluice-cli-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try "[databases]\n* = host=127.0.0.1 port=\(cluster.port)\n[sluice]\nlisten_addr = 127.0.0.1\nlisten_port = \(try FreePort.find())\nauth_type = trust\nunix_socket_dir =\n"
                .write(toFile: "\(directory)/sluice.ini", atomically: true, encoding: .utf8)
            let process = try SluiceInstance.launch(options + ["\(directory)/sluice.ini"], errors: errors)
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }

        /// A container's configuration: `[databases]` values from the environment.
        @Test func databasesFromEnvironmentVariables() throws {
            setenv("SLUICE_TEST_DB_HOST", "127.0.0.1", 1)
            setenv("SLUICE_TEST_DB_PORT", String(cluster.port), 1)
            defer {
                unsetenv("SLUICE_TEST_DB_HOST")
                unsetenv("SLUICE_TEST_DB_PORT")
            }
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction"], userlist: [("app", password)],
                                            databases: "app = host=${SLUICE_TEST_DB_HOST} port=$SLUICE_TEST_DB_PORT dbname=app")
            #expect(try sluice.login(password: password).query("SELECT 11").rows == [["11"]])
            let check = try ProcessRunner.run(try SluiceInstance.binaryPath(), ["--check", sluice.configPath])
            #expect(check.status == 0, "\(check.stderr)")
            unsetenv("SLUICE_TEST_DB_PORT")
            let missing = try ProcessRunner.run(try SluiceInstance.binaryPath(), ["--check", sluice.configPath])
            #expect(missing.status == 1 && missing.stderr.contains("environment variable SLUICE_TEST_DB_PORT is not set"), "\(missing.stderr)")
        }

        /// A sidecar from DATABASE_URL alone: 127.0.0.1:6432, transaction mode, SCRAM with the
        /// URL's password; --check reads the same variable.
        @Test func aSidecarFromDatabaseURLAlone() throws {
            let url = "postgres://app:\(password)@127.0.0.1:\(cluster.port)/app"
            let check = try ProcessRunner.run(try SluiceInstance.binaryPath(), ["--check"], environment: ["DATABASE_URL": url])
            #expect(check.status == 0 && check.stdout.contains("DATABASE_URL: configuration is valid"), "\(check.stdout)\(check.stderr)")
            setenv("DATABASE_URL", url, 1)
            let process = try SluiceInstance.launch([])
            unsetenv("DATABASE_URL")
            defer {
                kill(process.processIdentifier, SIGQUIT)
                process.waitUntilExit()
            }
            #expect(eventually(within: 10) { (try? RawClient(port: 6432, timeout: 1)) != nil }, "listening on 127.0.0.1:6432")
            let user = try Tools.psql("host=127.0.0.1 port=6432 user=app dbname=app", "SELECT current_user", password: password)
            #expect(user.status == 0 && user.stdout == "app\n", "\(user.stderr)")
            let wrong = try Tools.psql("host=127.0.0.1 port=6432 user=app dbname=app", "SELECT 1", password: "wrong")
            #expect(wrong.status != 0 && wrong.stderr.contains("password authentication failed"), "\(wrong.stderr)")
        }

        /// One instance per Unix socket: a second Sluice on the same socket refuses to start
        /// (even when so_reuseport lets it share the TCP port) and leaves the first one's file.
        @Test func aSecondSluiceOnTheSameUnixSocketRefusesToStart() throws {
            let first = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "so_reuseport": "1"],
                                           userlist: [("app", password)])
            let errors = Pipe()
            let second = try SluiceInstance.launch([first.configPath], errors: errors)
            second.waitUntilExit()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(second.terminationStatus == 1 && message.contains("unix socket \(first.directory)/.s.PGSQL.\(first.port) is in use"), "\(message)")
            let overSocket = try Tools.psql("host=\(first.directory) port=\(first.port) user=app dbname=app", "SELECT 12", password: password)
            #expect(overSocket.status == 0 && overSocket.stdout == "12\n", "the first keeps its socket: \(overSocket.stderr)")
        }

        /// A start that fails on its last listener (metrics_listen on PostgreSQL's port) announces
        /// nothing and leaves no socket file behind.
        @Test func aFailedStartLeavesNoSocketFile() throws {
            let port = try FreePort.find()
            let directory = NSTemporaryDirectory() + "sluice-failed-start-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try """
                [databases]
                * = host=127.0.0.1 port=\(cluster.port)
                [sluice]
                listen_addr = 127.0.0.1
                listen_port = \(port)
                unix_socket_dir = \(directory)
                auth_type = trust
                metrics_listen = 127.0.0.1:\(cluster.port)
                """.write(toFile: "\(directory)/sluice.ini", atomically: true, encoding: .utf8)
            let errors = Pipe()
            let process = try SluiceInstance.launch(["\(directory)/sluice.ini"], errors: errors)
            process.waitUntilExit()
            let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 1 && output.contains("Address already in use"), "\(output)")
            #expect(!output.contains("listening on"), "nothing announced: \(output)")
            #expect(access("\(directory)/.s.PGSQL.\(port)", F_OK) != 0, "no socket file left")
        }

        @Test func daemonNeedsAPidFileAndALogFile() throws {
            let (status, errors) = try refusal(["-d"])
            #expect(status == 1)
            #expect(errors.contains("-d needs pidfile and logfile"), "\(errors)")
        }

        @Test(arguments: ["1", "0"])
        func onlineRestartTakesOverListeningWhileTheOldServesItsClients(reusePort: String) throws {
            let pidfile = "/tmp/sluice-takeover-\(getpid())-\(reusePort).pid"
            let metricsPort = try FreePort.find()
            let old = try SluiceInstance(cluster: cluster, settings: [
                "pool_mode": "transaction", "pidfile": pidfile, "so_reuseport": reusePort, "metrics_listen": "127.0.0.1:\(metricsPort)",
            ], userlist: [("app", password)])
            defer { unlink(pidfile) }
            let staying = try old.login(password: password)
            #expect(try staying.query("SELECT 1").rows == [["1"]])

            let second = try SluiceInstance.launch([old.configPath])
            second.waitUntilExit()
            #expect(second.terminationStatus == 1, "a second start without -R is refused")

            let new = try SluiceInstance.launch(["-R", old.configPath])
            defer { kill(new.processIdentifier, SIGQUIT); new.waitUntilExit() }
            #expect(eventually(within: 10) { pid(in: pidfile) == new.processIdentifier }, "the successor owns the pid file")
            #expect(try staying.query("SELECT 2").rows == [["2"]], "the old process still serves its client")
            #expect(old.process.isRunning)
            let arriving = try old.login(password: password)
            #expect(try arriving.query("SELECT 3").rows == [["3"]], "a new client gets in")
            #expect(try scrapeMetrics(metricsPort).status == "200", "the successor serves /metrics on the same address")

            staying.hangUp()
            #expect(eventually(within: 5) { !old.process.isRunning }, "the old process ends when its last client leaves")
            #expect(old.process.terminationStatus == 0)
            #expect(try arriving.query("SELECT 4").rows == [["4"]])
            #expect(try old.login(password: password).query("SELECT 5").rows == [["5"]], "the successor serves new clients")
            #expect(FileManager.default.fileExists(atPath: "\(old.directory)/.s.PGSQL.\(old.port)"), "the old left the socket file alone")
            #expect(pid(in: pidfile) == new.processIdentifier, "and the pid file")
        }

        @Test func aPidFileNamingAnotherProgramIsStale() throws {
            let pidfile = "/tmp/sluice-stale-\(getpid()).pid"
            // This test process runs, and is no Sluice: as after a crash, when the pid was reused.
            try "\(getpid())\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
            defer { unlink(pidfile) }
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction", "pidfile": pidfile],
                                            userlist: [("app", password)])
            #expect(try sluice.login(password: password).query("SELECT 7").rows == [["7"]])
            #expect(eventually(within: 5) { pid(in: pidfile) == sluice.process.processIdentifier }, "the file now names the new Sluice")
        }

        @Test func userSwitchDropsRootOnceListening() throws {
            let unknown = try refusal(["-u", "no-such-user-here"])
            #expect(unknown.status == 1)
            #expect(unknown.errors.contains("no user \"no-such-user-here\""), "\(unknown.errors)")
            guard getuid() == 0, let nobody = getpwnam("nobody") else {
                let (status, errors) = try refusal(["-u", "root"])
                #expect(status == 1)
                #expect(errors.contains("does not run as root"), "\(errors)")
                return
            }
            let sluice = try SluiceInstance(cluster: cluster, settings: ["pool_mode": "transaction"],
                                            userlist: [("app", password)], options: ["-u", "nobody"])
            // Sluice listens before it switches: the switch follows within moments.
            var uidLine = ""
            let switched = eventually(within: 3) {
                let status = (try? String(contentsOfFile: "/proc/\(sluice.process.processIdentifier)/status", encoding: .utf8)) ?? ""
                uidLine = String(status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? "")
                return uidLine.split(whereSeparator: \.isWhitespace).dropFirst().allSatisfy { $0 == "\(nobody.pointee.pw_uid)" }
            }
            #expect(switched, "\(uidLine)")
            #expect(try sluice.login(password: password).query("SELECT 6").rows == [["6"]])
        }
    }
}

extension IntegrationTests.CommandLineTests {
    /// `sluice demo`: a primary, a streaming replica and Sluice splitting between them; its
    /// psql line works, reads reach the replica, a client reads its own write, and Ctrl-C
    /// removes both clusters.
    @Test func demoSplitsReadsToItsReplica() throws {
        let outputPath = NSTemporaryDirectory() + "sluice-demo-\(getpid()).out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { unlink(outputPath) }
        let demo = Process()
        demo.executableURL = URL(fileURLWithPath: try SluiceInstance.binaryPath())
        demo.arguments = ["demo"]
        demo.standardOutput = FileHandle(forWritingAtPath: outputPath)
        demo.standardError = FileHandle.nullDevice
        try demo.run()
        defer { if demo.isRunning { kill(demo.processIdentifier, SIGKILL) } }
        func output() -> String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        #expect(eventually(within: 120) { output().contains("Press Ctrl-C") }, "\(output())")
        let text = output()
        #expect(text.contains("\"ENGINE\": \"django.db.backends.postgresql\""), "a Django snippet: \(text)")
        let line = try #require(text.split(separator: "\n").first { $0.contains("psql \"host=127.0.0.1") })
        let connection = String(line.split(separator: "\"")[1])
        #expect(try eventually(within: 10) { try Tools.psql(connection, "SELECT pg_is_in_recovery()").stdout == "t\n" },
                "autocommit reads reach the replica")
        let written = try Tools.psqlScript(connection, """
            CREATE TABLE demo_items (note text);
            INSERT INTO demo_items VALUES ('mine');
            SELECT note FROM demo_items;
            """)
        #expect(written.status == 0 && written.stdout.hasSuffix("mine\n"), "\(written.stderr)")
        let dataDirectory = try #require(text.split(separator: "\n").first { $0.contains("(data in ") }.map {
            String($0.split(separator: "(data in ")[1].dropLast())
        })
        kill(demo.processIdentifier, SIGINT)
        #expect(eventually(within: 30) { !demo.isRunning }, "the demo stops on Ctrl-C")
        #expect(!FileManager.default.fileExists(atPath: dataDirectory), "the primary's directory is removed")
    }
}
