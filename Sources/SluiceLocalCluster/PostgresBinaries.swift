import Foundation

/// Where the PostgreSQL programs live. All server programs come from one directory so their
/// versions match.
struct PostgresBinaries: Sendable {
    let directory: String
    let initdb: String
    let pgCtl: String
    /// The client used for admin SQL: the one next to the server programs when installed there, else `PATH`'s.
    let psql: String
    /// For making replicas; found like `psql`.
    let pgBasebackup: String?

    /// Tries, in order: the directory of `initdb` on `PATH`, `pg_config --bindir`, and the newest
    /// `/usr/lib/postgresql/<version>/bin` (Debian/Ubuntu layout, where the server programs are not on `PATH`).
    static func locate() throws -> PostgresBinaries {
        var searched: [String] = []
        var candidates: [String] = []
        if let initdb = ProcessRunner.which("initdb") {
            candidates.append((initdb as NSString).deletingLastPathComponent)
        }
        searched.append("PATH")
        if let output = try? ProcessRunner.run("pg_config", ["--bindir"], timeout: 10), output.status == 0 {
            candidates.append(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        searched.append("pg_config --bindir")
        candidates += debianVersionDirectories()
        searched.append("/usr/lib/postgresql/*/bin")

        let isExecutable = { (path: String) in access(path, X_OK) == 0 }
        for directory in candidates
        where ["initdb", "pg_ctl", "postgres"].allSatisfy({ isExecutable("\(directory)/\($0)") }) {
            let bundledPsql = "\(directory)/psql"
            guard let psql = isExecutable(bundledPsql) ? bundledPsql : ProcessRunner.which("psql") else { continue }
            let bundledBasebackup = "\(directory)/pg_basebackup"
            return PostgresBinaries(
                directory: directory, initdb: "\(directory)/initdb", pgCtl: "\(directory)/pg_ctl", psql: psql,
                pgBasebackup: isExecutable(bundledBasebackup) ? bundledBasebackup : ProcessRunner.which("pg_basebackup"))
        }
        throw LocalClusterError.binariesNotFound(searched: searched)
    }

    /// `/usr/lib/postgresql/<major>/bin` directories, newest major version first.
    private static func debianVersionDirectories() -> [String] {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap { name in Double(name).map { (name, $0) } }
            .sorted { $0.1 > $1.1 }
            .map { "\(root)/\($0.0)/bin" }
    }
}
