import Foundation
import SluiceLocalCluster

/// The `sluice` binary under test, started with a generated configuration in a temp dir and
/// stopped with SIGQUIT when the test is done.
final class SluiceInstance: @unchecked Sendable {
    let port: Int
    let directory: String
    let process: Process
    let logPath: String

    /// Starts Sluice with `[databases]` pointing at `cluster`, the given settings and userlist,
    /// and `options` before the configuration path on its command line. With `-d` the process
    /// started is the one that detaches: it exits once the daemon runs.
    init(cluster: LocalCluster, settings: [String: String] = [:], userlist: [(String, String)] = [],
         databases: String? = nil, options: [String] = []) throws {
        port = try FreePort.find()
        directory = try Self.makeDirectory()
        logPath = "\(directory)/sluice.log"
        var lines = ["[databases]", databases ?? "* = host=127.0.0.1 port=\(cluster.port)", "", "[sluice]"]
        var all = [
            "listen_addr": "127.0.0.1", "listen_port": String(port), "unix_socket_dir": directory,
            "auth_type": "md5", "auth_file": "userlist.txt", "logfile": logPath,
            "threads": Self.defaultThreads,
        ]
        all.merge(settings) { _, new in new }
        lines += all.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: "\(directory)/sluice.ini", atomically: true, encoding: .utf8)
        let users = userlist.map { "\"\($0.0)\" \"\($0.1)\"" }.joined(separator: "\n")
        try (users + "\n").write(toFile: "\(directory)/userlist.txt", atomically: true, encoding: .utf8)

        process = try Self.launch(options + ["\(directory)/sluice.ini"])
        try waitUntilListening()
    }

    /// Runs the binary with `arguments`, its output discarded unless `errors` takes standard error.
    static func launch(_ arguments: [String], errors: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binaryPath())
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors ?? FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        return process
    }

    deinit { stop() }

    var configPath: String { "\(directory)/sluice.ini" }

    /// libpq connection string for a client of this Sluice.
    func connectionString(user: String, database: String = "postgres", password: String? = nil) -> String {
        var text = "host=127.0.0.1 port=\(port) user=\(user) dbname=\(database) connect_timeout=10"
        if let password { text += " password=\(password)" }
        return text
    }

    /// A raw protocol client logged in as `user`; throws with Sluice's log if the login fails.
    func login(user: String = "app", database: String = "app", password: String) throws -> RawClient {
        let client = try RawClient(port: port)
        guard case .ready = try client.login(user: user, database: database, password: password) else {
            throw HarnessError("login as \(user) failed: \(log())")
        }
        return client
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Stops Sluice with SIGINT (once transactions in flight finish) and returns its log, with
    /// what it writes on the way out.
    func terminate() -> String {
        if process.isRunning {
            kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
        }
        return log()
    }

    /// Stops Sluice at once (SIGQUIT), whatever its clients are doing.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGQUIT)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if !process.isRunning && process.terminationStatus != 0 {
                throw HarnessError("sluice exited with \(process.terminationStatus): \(log())")
            }
            if RawClient.canConnect(port: port) { return }
            usleep(20_000)
        }
        throw HarnessError("sluice did not start listening: \(log())")
    }

    /// Event loops for every Sluice the tests start, unless a test sets `threads` itself:
    /// `SLUICE_TEST_THREADS` (scripts/test runs the integration tests with 1, then with 2).
    static let defaultThreads = ProcessInfo.processInfo.environment["SLUICE_TEST_THREADS"] ?? "1"

    /// The binary next to the test bundle (`.build/<config>/sluice`), or `$SLUICE_BINARY`.
    static func binaryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["SLUICE_BINARY"] { return path }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("sluice").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw HarnessError("cannot find the sluice binary near \(CommandLine.arguments[0]); set SLUICE_BINARY")
    }

    private static func makeDirectory() throws -> String {
        var template = Array("/tmp/sluice-test-XXXXXX".utf8CString)
        guard let result = mkdtemp(&template) else { throw HarnessError("mkdtemp failed") }
        return String(cString: result)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
