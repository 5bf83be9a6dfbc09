import Foundation

extension LocalCluster {
    /// A streaming replica of this cluster: a base backup taken with `pg_basebackup -R` (which
    /// writes `standby.signal` and the connection to this primary) into a new temporary
    /// directory, started on its own free port. Stopped and removed like any cluster.
    public func startReplica(log: (String) -> Void = { _ in }) throws -> LocalCluster {
        let binaries = try PostgresBinaries.locate()
        let user = try UnprivilegedUser.resolve()
        let control = ServerControl(binaries: binaries, user: user, directory: try Self.makeTemporaryDirectory())
        do {
            try Self.prepareDirectories(control, user)
            log("pg_basebackup from 127.0.0.1:\(port) into \(control.dataDirectory)")
            guard let pgBasebackup = binaries.pgBasebackup else { throw LocalClusterError.programNotFound("pg_basebackup") }
            let backup = try user.run(
                pgBasebackup,
                ["-h", host, "-p", String(port), "-U", superuser, "-D", control.dataDirectory, "-R", "-X", "stream",
                 "--checkpoint=fast"],
                in: control.directory, timeout: 120)
            guard backup.status == 0 else { throw LocalClusterError.baseBackupFailed(stderr: backup.stderr + backup.stdout) }
            let port = try Self.startServer(LocalClusterOptions(extraSettings: ["hot_standby": "on"]), control, user, log: log)
            let replica = LocalCluster(control: control, port: port)
            log("replica listening on 127.0.0.1:\(port)")
            return replica
        } catch {
            control.stop()
            try? FileManager.default.removeItem(atPath: control.directory)
            throw error
        }
    }

    /// Stops the server and keeps its directory, for `restart()`.
    public func pause() {
        control.stop()
    }

    /// Starts a server that `pause()` stopped, on the same port.
    public func restart() throws {
        try control.start()
    }
}
