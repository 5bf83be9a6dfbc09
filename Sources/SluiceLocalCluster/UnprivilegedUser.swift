import Foundation

/// The account the PostgreSQL server programs run as.
///
/// PostgreSQL refuses to run as root, so when this process is root, `initdb`, `pg_ctl` (and through it
/// `postgres`) run as the `postgres` account via `runuser -u postgres --`, or, where `runuser` is
/// missing, `su postgres -s /bin/sh -c '...'`; the files they need are handed to that account.
/// Otherwise they run directly as the current user.
struct UnprivilegedUser: Sendable {
    private enum Switch: Sendable {
        case none
        case runuser(path: String)
        case su(path: String)
    }

    static let accountName = "postgres"

    private let switchMethod: Switch
    /// Owner given to created files; nil when running unprivileged already (files are ours).
    private let owner: (uid: uid_t, gid: gid_t)?

    static func resolve() throws -> UnprivilegedUser {
        guard getuid() == 0 else { return UnprivilegedUser(switchMethod: .none, owner: nil) }
        guard let entry = getpwnam(accountName) else {
            throw LocalClusterError.unprivilegedUserNotFound(accountName)
        }
        let owner = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        // Admin tools live in sbin, which a root PATH may lack (e.g. under `sudo` or a test runner).
        let find = { (name: String) in
            ProcessRunner.which(name) ?? ["/usr/sbin/\(name)", "/sbin/\(name)", "/usr/bin/\(name)", "/bin/\(name)"]
                .first { access($0, X_OK) == 0 }
        }
        if let runuser = find("runuser") {
            return UnprivilegedUser(switchMethod: .runuser(path: runuser), owner: owner)
        }
        if let su = find("su") {
            return UnprivilegedUser(switchMethod: .su(path: su), owner: owner)
        }
        throw LocalClusterError.privilegeDropUnavailable
    }

    /// Runs `executable` (an absolute path) as the unprivileged account.
    func run(_ executable: String, _ arguments: [String], in directory: String, timeout: Double) throws
        -> ProcessRunner.Output
    {
        switch switchMethod {
        case .none:
            return try ProcessRunner.run(executable, arguments, timeout: timeout, currentDirectory: directory)
        case .runuser(let runuser):
            return try ProcessRunner.run(
                runuser, ["-u", Self.accountName, "--", executable] + arguments,
                timeout: timeout, currentDirectory: directory)
        case .su(let su):
            let command = ([executable] + arguments).map(Self.shellQuoted).joined(separator: " ")
            return try ProcessRunner.run(
                su, [Self.accountName, "-s", "/bin/sh", "-c", command], timeout: timeout, currentDirectory: directory)
        }
    }

    /// Makes `path` owned by the unprivileged account (no-op when not running as root).
    func takeOwnership(of path: String) throws {
        guard let owner else { return }
        guard chown(path, owner.uid, owner.gid) == 0 else {
            throw LocalClusterError.fileSystem("chown \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func shellQuoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
