import Foundation
import SluiceLocalCluster

/// psql and pgbench, run as independent clients.
enum Tools {
    /// Runs SQL through psql (`-At`, stop on error); returns the output with status and stderr.
    static func psql(_ connection: String, _ sql: String, password: String? = nil, timeout: Double = 120) throws -> ProcessRunner.Output {
        try ProcessRunner.run("psql", ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", connection, "-c", sql],
                              environment: password.map { ["PGPASSWORD": $0] } ?? [:], timeout: timeout)
    }

    /// Runs a psql script from stdin (for meta-commands such as \copy).
    static func psqlScript(_ connection: String, _ script: String, password: String? = nil) throws -> ProcessRunner.Output {
        try ProcessRunner.run("psql", ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", connection],
                              environment: password.map { ["PGPASSWORD": $0] } ?? [:], input: script)
    }

    static func pgbench(_ arguments: [String], password: String? = nil, timeout: Double = 300) throws -> ProcessRunner.Output {
        try ProcessRunner.run("pgbench", arguments, environment: password.map { ["PGPASSWORD": $0] } ?? [:], timeout: timeout)
    }

    /// The number after `label` in pgbench's report, e.g. "number of failed transactions: 0 (0.000%)".
    static func pgbenchFigure(_ output: String, _ label: String) -> Int? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(label) }) else { return nil }
        let rest = line.dropFirst(label.count).drop { $0 == " " }
        return Int(rest.prefix { $0.isNumber })
    }
}
