import Glibc
import Logging
import SluiceConfig
import SluiceLocalCluster
import SluiceServer

/// `sluice demo`: a throwaway PostgreSQL with Sluice in front, pooling transactions over five
/// server connections, removed again on Ctrl-C.
///
/// PostgreSQL asks for SCRAM, and Sluice's userlist holds only the role's SCRAM verifier (read
/// from pg_authid): Sluice logs in to PostgreSQL with the key recovered from the client's own
/// proof, so no plaintext password is stored anywhere.
enum Demo {
    static let user = "app"
    static let password = "sluice-demo"

    static func run() throws {
        let sink = try LogSink(path: nil)
        LoggingSystem.bootstrap { _ in LineLogHandler(sink: sink, level: .info) }
        let logger = Logger(label: "sluice")

        say("Starting a throwaway PostgreSQL cluster...")
        let cluster = try LocalCluster.start(LocalClusterOptions(
            hostAuth: .scramSHA256,
            roles: [(name: user, password: password, superuser: false)],
            databases: [user]
        )) { say("  \($0)") }
        defer { cluster.stop() }
        try cluster.psql("ALTER DATABASE \(user) OWNER TO \(user)")
        let verifier = try cluster.psql("SELECT rolpassword FROM pg_authid WHERE rolname = '\(user)'")
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let port = try FreePort.find()
        let directory = cluster.directory
        let configPath = "\(directory)/sluice.ini"
        try writeFile("\(directory)/userlist.txt", "\"\(user)\" \"\(verifier)\"\n")
        try writeFile(configPath, """
            ; Written by `sluice demo`; removed on exit.
            [databases]
            * = host=127.0.0.1 port=\(cluster.port)

            [sluice]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = scram-sha-256
            auth_file = userlist.txt
            pool_mode = transaction
            default_pool_size = 5

            """)
        let (configuration, _) = try ConfigurationLoader.load(path: configPath)
        let pooler = try Pooler(configuration: configuration, logger: logger) {
            try ConfigurationLoader.load(path: configPath).0
        }
        pooler.interruptFinishesTransactions = false
        try pooler.start()
        say("""

            PostgreSQL \(cluster.host):\(cluster.port) (data in \(directory))
            Sluice     127.0.0.1:\(port), config \(configPath)

            Connect through Sluice:
              psql "host=127.0.0.1 port=\(port) dbname=\(user) user=\(user) password=\(password)"

            Press Ctrl-C to stop Sluice and remove the cluster.

            """)
        try pooler.run()
        say("Stopping and removing the cluster...")
    }

    /// Prints unbuffered, so the demo's instructions show at once even when piped.
    private static func say(_ text: String) {
        printOutput(text + "\n")
    }

    private static func writeFile(_ path: String, _ text: String) throws {
        guard let file = fopen(path, "w") else { throw DemoError(message: "cannot write \(path)") }
        defer { fclose(file) }
        fputs(text, file)
    }
}

struct DemoError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
