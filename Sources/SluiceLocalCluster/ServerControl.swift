import Foundation

/// Runs initdb and pg_ctl for one cluster directory, as the unprivileged user.
///
/// Layout of the cluster directory: `data/` (the data directory, 0700), `socket/` (Unix sockets)
/// and `postgres.log` (the server log, written by the postmaster because `pg_ctl -l` redirects it).
struct ServerControl: Sendable {
    let binaries: PostgresBinaries
    let user: UnprivilegedUser
    let directory: String

    var dataDirectory: String { "\(directory)/data" }
    var socketDirectory: String { "\(directory)/socket" }
    var logFile: String { "\(directory)/postgres.log" }

    func initialize() throws {
        let output = try user.run(
            binaries.initdb,
            ["-D", dataDirectory, "-A", "trust", "-U", UnprivilegedUser.accountName, "--no-instructions",
             "-E", "UTF8", "--locale=C"],
            in: directory, timeout: 120)
        guard output.status == 0 else {
            throw LocalClusterError.initdbFailed(stderr: output.stderr.isEmpty ? output.stdout : output.stderr)
        }
    }

    /// Starts the server and waits until it accepts connections; throws `serverDidNotStart` with the
    /// end of the log otherwise. A log from an earlier attempt is discarded first.
    func start() throws {
        try? FileManager.default.removeItem(atPath: logFile)
        let output = try user.run(
            binaries.pgCtl, ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "start"],
            in: directory, timeout: 90)
        guard output.status == 0 else {
            let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            let tail = log.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n")
            throw LocalClusterError.serverDidNotStart(logTail: tail.isEmpty ? output.stderr + output.stdout : tail)
        }
    }

    /// Stops the server with `pg_ctl stop -m mode`, leaving the cluster in place to start again.
    func stop(mode: String) throws {
        let output = try user.run(binaries.pgCtl, ["-D", dataDirectory, "-m", mode, "-w", "-t", "30", "stop"],
                                  in: directory, timeout: 45)
        guard output.status == 0 else { throw LocalClusterError.serverDidNotStop(stderr: output.stderr) }
    }

    /// Stops the server if it runs: a fast shutdown (disconnects clients), then an immediate one, and
    /// as a last resort SIGKILL to the postmaster named in `postmaster.pid`.
    func stop() {
        for mode in ["fast", "immediate"] {
            guard isRunning else { return }
            _ = try? user.run(binaries.pgCtl, ["-D", dataDirectory, "-m", mode, "-w", "-t", "30", "stop"],
                              in: directory, timeout: 45)
        }
        if isRunning, let pid = postmasterPID {
            kill(pid, SIGKILL)
        }
    }

    /// Whether a postmaster is recorded as running: `postmaster.pid` exists (pg_ctl removes it on stop)
    /// and names a live process.
    private var isRunning: Bool {
        guard let pid = postmasterPID else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    private var postmasterPID: pid_t? {
        guard let contents = try? String(contentsOfFile: "\(dataDirectory)/postmaster.pid", encoding: .utf8),
            let firstLine = contents.split(separator: "\n").first
        else { return nil }
        return pid_t(firstLine.trimmingCharacters(in: .whitespaces))
    }
}
