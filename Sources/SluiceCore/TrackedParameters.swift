/// The session settings Sluice keeps per client and applies to whichever server serves it:
/// the ones PostgreSQL reports with ParameterStatus and a client may set at startup.
public struct TrackedParameters: Sendable, Equatable {
    public static let standard = [
        "client_encoding", "DateStyle", "TimeZone", "IntervalStyle",
        "standard_conforming_strings", "application_name", "search_path",
    ]

    /// Canonical spelling by lowercased name.
    private let canonical: [String: String]

    public init(extra: [String] = []) {
        var names: [String: String] = [:]
        for name in Self.standard + extra { names[name.lowercased()] = name }
        canonical = names
    }

    /// The canonical name of a tracked parameter, or nil when Sluice does not track it.
    public func canonicalName(_ name: String) -> String? { canonical[name.lowercased()] }

    public var names: [String] { Array(canonical.values) }
}

/// Quotes a value as a SQL string literal for `SET name = '...'`.
public func sqlLiteral(_ value: String) -> String {
    let escaped = value.replacing("'", with: "''")
    if escaped.contains("\\") {
        return "E'" + escaped.replacing("\\", with: "\\\\") + "'"
    }
    return "'" + escaped + "'"
}

/// Quotes a parameter name as a SQL identifier.
public func sqlIdentifier(_ name: String) -> String {
    "\"" + name.replacing("\"", with: "\"\"") + "\""
}
