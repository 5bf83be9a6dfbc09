import PostgresWire

/// The session settings Sluice keeps per client and applies to whichever server serves it:
/// the ones PostgreSQL reports with ParameterStatus and a client may set at startup.
public struct TrackedParameters: Sendable, Equatable {
    public static let standard = [
        "client_encoding", "DateStyle", "TimeZone", "IntervalStyle",
        "standard_conforming_strings", "application_name", "search_path",
    ]

    /// Canonical spelling by lowercased name.
    private let canonical: [String: String]
    /// The canonical names, each once, standard ones first.
    public let names: [String]
    private let positions: [String: Int]

    public init(extra: [String] = []) {
        var canonical: [String: String] = [:]
        var names: [String] = []
        for name in Self.standard + extra where canonical[name.lowercased()] == nil {
            canonical[name.lowercased()] = name
            names.append(name)
        }
        self.canonical = canonical
        self.names = names
        positions = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
    }

    /// The position of a canonical name in `names`.
    public func index(of canonicalName: String) -> Int? { positions[canonicalName] }

    /// One value per tracked name, in the order of `names` (nil where `parameters` has none), so
    /// that comparing a client's wishes with a server's state is a walk over two short arrays.
    public func values(from parameters: [StartupParameter]) -> [String?] {
        var values = [String?](repeating: nil, count: names.count)
        for parameter in parameters {
            if let index = positions[parameter.name] { values[index] = parameter.value }
        }
        return values
    }

    /// The canonical name of a tracked parameter, or nil when Sluice does not track it.
    public func canonicalName(_ name: String) -> String? { canonical[name.lowercased()] }
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
