import Foundation

/// Everything that can go wrong while starting, using or driving a local PostgreSQL cluster.
public enum LocalClusterError: Error, CustomStringConvertible {
    /// No directory holding `initdb`, `pg_ctl` and `postgres` was found; `searched` lists the places tried.
    case binariesNotFound(searched: [String])
    /// A program given to `ProcessRunner.run` is neither an executable path nor on `PATH`.
    case programNotFound(String)
    /// `posix_spawn` (or the pipe/file-action setup before it) failed.
    case spawnFailed(program: String, reason: String)
    /// A program ran longer than its timeout and was killed.
    case timedOut(program: String, seconds: Double, stderr: String)
    /// Running as root, but the unprivileged account PostgreSQL must run as does not exist.
    case unprivilegedUserNotFound(String)
    /// Running as root, but neither `runuser` nor `su` is available to switch to the unprivileged account.
    case privilegeDropUnavailable
    /// Creating, writing or changing ownership of a file or directory failed.
    case fileSystem(String)
    /// Binding a probe socket to find a free port failed.
    case noFreePort(String)
    /// `initdb` failed; `stderr` is its error output.
    case initdbFailed(stderr: String)
    /// `pg_basebackup` failed while making a replica; `stderr` is its error output.
    case baseBackupFailed(stderr: String)
    /// `pg_ctl start` failed; `logTail` is the end of the server log.
    case serverDidNotStart(logTail: String)
    /// `pg_ctl stop` failed; `stderr` is its error output.
    case serverDidNotStop(stderr: String)
    /// SQL run through `LocalCluster.psql` failed; `stderr` is psql's error output.
    case sqlFailed(sql: String, stderr: String)

    public var description: String {
        switch self {
        case .binariesNotFound(let searched):
            return "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; searched: "
                + searched.joined(separator: ", ")
                + ". Install PostgreSQL (e.g. apt-get install postgresql) or put its bin directory on PATH."
        case .programNotFound(let name):
            return "program '\(name)' not found on PATH"
        case .spawnFailed(let program, let reason):
            return "could not start '\(program)': \(reason)"
        case .timedOut(let program, let seconds, let stderr):
            return "'\(program)' did not finish within \(seconds)s and was killed"
                + (stderr.isEmpty ? "" : "; stderr:\n\(stderr)")
        case .unprivilegedUserNotFound(let name):
            return "running as root, but user '\(name)' does not exist"
                + " (PostgreSQL refuses to run as root, so the server runs as that user)"
        case .privilegeDropUnavailable:
            return "running as root, but neither runuser nor su is available to run PostgreSQL as an unprivileged user"
        case .fileSystem(let message):
            return message
        case .noFreePort(let reason):
            return "could not find a free loopback port: \(reason)"
        case .initdbFailed(let stderr):
            return "initdb failed:\n\(stderr)"
        case .baseBackupFailed(let stderr):
            return "pg_basebackup failed:\n\(stderr)"
        case .serverDidNotStart(let logTail):
            return "PostgreSQL server did not start; end of its log:\n\(logTail)"
        case .serverDidNotStop(let stderr):
            return "pg_ctl stop failed:\n\(stderr)"
        case .sqlFailed(let sql, let stderr):
            return "SQL failed: \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))\nstatement(s):\n\(sql)"
        }
    }
}
