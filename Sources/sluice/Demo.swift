import Glibc
import Logging
import SluiceConfig
import SluiceLocalCluster
import SluiceServer

/// `sluice demo`: a throwaway PostgreSQL primary and a streaming replica of it, with Sluice in
/// front pooling transactions and splitting reads (to the replica) from writes (to the
/// primary) for one database entry; removed again on Ctrl-C.
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
        // A commit is flushed before it is acknowledged, so the replica can replay it at once.
        try cluster.psql("ALTER SYSTEM SET synchronous_commit = on")
        try cluster.psql("SELECT pg_reload_conf()")
        say("Starting a streaming replica of it...")
        let replica = try cluster.startReplica { say("  \($0)") }
        defer { replica.stop() }
        let verifier = try cluster.psql("SELECT rolpassword FROM pg_authid WHERE rolname = '\(user)'")
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let port = try FreePort.find()
        let directory = cluster.directory
        let configPath = "\(directory)/sluice.ini"
        try writeFile("\(directory)/userlist.txt", "\"\(user)\" \"\(verifier)\"\n")
        try writeFile(configPath, """
            ; Written by `sluice demo`; removed on exit.
            [databases]
            \(user) = host=127.0.0.1 port=\(cluster.port) dbname=\(user) replicas=127.0.0.1:\(replica.port)

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

            PostgreSQL primary \(cluster.host):\(cluster.port) (data in \(directory))
            PostgreSQL replica 127.0.0.1:\(replica.port) (streaming from the primary)
            Sluice             127.0.0.1:\(port), config \(configPath)

            Connect through Sluice: writes and transactions run on the primary, autocommit reads
            on the replica, and a client always reads its own writes.
              psql "host=127.0.0.1 port=\(port) dbname=\(user) user=\(user) password=\(password)"
              (try: SELECT pg_is_in_recovery();  -- t: the replica answered)

            Django, one DATABASES entry:
              DATABASES = {"default": {
                  "ENGINE": "django.db.backends.postgresql",
                  "HOST": "127.0.0.1", "PORT": "\(port)", "NAME": "\(user)",
                  "USER": "\(user)", "PASSWORD": "\(password)",
                  "DISABLE_SERVER_SIDE_CURSORS": True,
              }}

            Press Ctrl-C to stop Sluice and remove both clusters.

            """)
        try pooler.run()
        say("Stopping and removing the primary and the replica...")
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
