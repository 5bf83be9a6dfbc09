@testable import SluiceConfig

let configPath = "/etc/sluice/pgbouncer.ini"

/// Parses `text` as if it were `configPath`, with `files` (absolute paths) readable.
func parse(
    _ text: String, files: [String: String] = [:]
) throws(ConfigurationError) -> (Configuration, warnings: [ConfigDiagnostic]) {
    try ConfigurationLoader.parse(text: text, path: configPath, readFile: { files[$0] })
}

/// The errors `text` produces; empty if it parses.
func errors(_ text: String, files: [String: String] = [:]) -> [ConfigDiagnostic] {
    do {
        _ = try parse(text, files: files)
        return []
    } catch {
        return error.diagnostics
    }
}

/// Settings from a `[pgbouncer]` section holding `body` (with trust auth unless `body` sets it).
func settings(_ body: String) throws(ConfigurationError) -> Settings {
    try parse("[pgbouncer]\nauth_type = trust\n" + body).0.settings
}
