import Foundation

/// A throwaway PostgreSQL server in a temporary directory, listening on a loopback address
/// (127.0.0.1 unless the options name another) and on a Unix socket inside that directory. `stop()` (or deinit, or process exit) shuts it down and deletes
/// the directory.
///
/// When this process runs as root the server runs as the `postgres` account (see `UnprivilegedUser`).
public final class LocalCluster: Sendable {
    public let host: String
    public let port: Int
    /// `unix_socket_directories`; connect with `host=<socketDirectory>`.
    public let socketDirectory: String
    /// The bootstrap superuser, trusted over the socket and over TCP.
    public let superuser = UnprivilegedUser.accountName
    /// The temporary directory holding everything (`/tmp/sluice-pg-XXXXXX`).
    public let directory: String
    public let dataDirectory: String
    /// The server log.
    public let logFile: String
    /// Directory of the PostgreSQL programs in use (initdb, pg_ctl, postgres, and usually psql,
    /// pg_basebackup, ...).
    public let binDirectory: String

    let control: ServerControl
    private let psqlPath: String
    private let stopped = Locked(false)

    init(control: ServerControl, host: String = "127.0.0.1", port: Int) {
        self.control = control
        self.host = host
        self.port = port
        self.socketDirectory = control.socketDirectory
        self.directory = control.directory
        self.dataDirectory = control.dataDirectory
        self.logFile = control.logFile
        self.binDirectory = control.binaries.directory
        self.psqlPath = control.binaries.psql
        ClusterRegistry.add(self)
    }

    deinit {
        stop()
    }

    /// Creates, configures and starts a cluster, then creates the requested roles and databases.
    /// Anything created is removed again if a step fails.
    public static func start(_ options: LocalClusterOptions = .init(), log: (String) -> Void = { _ in })
        throws -> LocalCluster
    {
        let binaries = try PostgresBinaries.locate()
        let user = try UnprivilegedUser.resolve()
        let control = ServerControl(binaries: binaries, user: user, directory: try makeTemporaryDirectory())
        let port: Int
        do {
            try prepareDirectories(control, user)
            log("initdb \(control.dataDirectory) (PostgreSQL programs in \(binaries.directory))")
            try control.initialize()
            try writeConfigurationFile(
                "pg_hba.conf", ClusterConfiguration.hostBasedAuthentication(options.hostAuth, tlsOnly: options.tls != nil),
                control, user)
            if let tls = options.tls {
                // PostgreSQL wants its key readable by its own account only.
                for (source, name, mode) in [(tls.certificateFile, ClusterConfiguration.tlsCertificateName, 0o644),
                                             (tls.keyFile, ClusterConfiguration.tlsKeyName, 0o600)] {
                    let contents = try String(contentsOfFile: source, encoding: .utf8)
                    try writeConfigurationFile(name, contents, control, user)
                    chmod("\(control.dataDirectory)/\(name)", mode_t(mode))
                }
            }
            let mainConfiguration = "\(control.dataDirectory)/postgresql.conf"
            let original = try String(contentsOfFile: mainConfiguration, encoding: .utf8)
            try writeConfigurationFile(
                "postgresql.conf", original + "\ninclude '\(ClusterConfiguration.includedFileName)'\n", control, user)
            port = try startServer(options, control, user, log: log)
        } catch {
            control.stop()
            try? FileManager.default.removeItem(atPath: control.directory)
            throw error
        }

        let cluster = LocalCluster(control: control, host: options.listenAddress, port: port)
        log("PostgreSQL listening on \(options.listenAddress):\(port) and \(control.socketDirectory)")
        if !options.roles.isEmpty || !options.databases.isEmpty {
            do {
                try cluster.psql(ClusterConfiguration.setupScript(options, superuser: cluster.superuser))
            } catch {
                cluster.stop()
                throw error
            }
        }
        return cluster
    }

    /// Runs SQL as the superuser through psql over the Unix socket and returns psql's unaligned,
    /// tuples-only (`-At`) output without the trailing newline. Several statements may be given; each
    /// runs in autocommit mode and the first error stops the script and is thrown with psql's stderr.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let output = try ProcessRunner.run(
            psqlPath,
            ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-p", String(port),
             "-U", superuser, "-d", database],
            input: sql)
        guard output.status == 0 else { throw LocalClusterError.sqlFailed(sql: sql, stderr: output.stderr) }
        var result = output.stdout
        while result.hasSuffix("\n") { result.removeLast() }
        return result
    }

    /// Stops the server as `pg_ctl stop -m mode` does (`fast`, `immediate`), keeping the
    /// cluster to `startAgain`: an outage, as a restart or failover makes one.
    public func stopServer(mode: String = "fast") throws {
        try control.stop(mode: mode)
    }

    /// Starts the server stopped by `stopServer`, on the same port; returns once it accepts
    /// connections.
    public func startAgain() throws {
        try control.start()
    }

    /// Stops the server (`pg_ctl stop -m fast`) and removes the directory. Idempotent; returns at once
    /// if another thread is already stopping this cluster.
    public func stop() {
        let firstCall = stopped.withLock { isStopped in
            defer { isStopped = true }
            return !isStopped
        }
        guard firstCall else { return }
        ClusterRegistry.remove(self)
        control.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Writes the settings file (port included) and starts the server. With no fixed port, a port
    /// taken between `FreePort.find()` and the server's bind is retried with a new one.
    static func startServer(
        _ options: LocalClusterOptions, _ control: ServerControl, _ user: UnprivilegedUser, log: (String) -> Void
    ) throws -> Int {
        let attempts = options.port == nil ? 3 : 1
        var attempt = 0
        while true {
            attempt += 1
            let port = try options.port ?? FreePort.find()
            try writeConfigurationFile(
                ClusterConfiguration.includedFileName,
                ClusterConfiguration.settings(port: port, socketDirectory: control.socketDirectory, options: options),
                control, user)
            log("starting PostgreSQL on port \(port)")
            do {
                try control.start()
                return port
            } catch LocalClusterError.serverDidNotStart(let logTail)
                where attempt < attempts && logTail.contains("could not bind")
            {
                log("port \(port) was taken meanwhile; retrying with another")
            }
        }
    }

    private static func writeConfigurationFile(
        _ name: String, _ contents: String, _ control: ServerControl, _ user: UnprivilegedUser
    ) throws {
        let path = "\(control.dataDirectory)/\(name)"
        do {
            try contents.write(toFile: path, atomically: false, encoding: .utf8)
        } catch {
            throw LocalClusterError.fileSystem("writing \(path): \(error)")
        }
        try user.takeOwnership(of: path)
    }

    /// Gives the cluster directory to `user` and creates the socket directory in it.
    static func prepareDirectories(_ control: ServerControl, _ user: UnprivilegedUser) throws {
        try user.takeOwnership(of: control.directory)
        try FileManager.default.createDirectory(
            atPath: control.socketDirectory, withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o755])
        try user.takeOwnership(of: control.socketDirectory)
    }

    /// Creates `/tmp/sluice-pg-XXXXXX`, mode 0755 so the socket inside is reachable by any local user.
    static func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/sluice-pg-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw LocalClusterError.fileSystem("mkdtemp /tmp/sluice-pg-XXXXXX: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: created)
        chmod(path, 0o755)
        return path
    }
}
