/// A problem found while reading configuration, tied to the file and line it came from.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: Sendable, Equatable {
        /// Sluice carries on (for example an unknown setting, which is ignored).
        case warning
        /// The configuration is not usable.
        case error
    }

    public var severity: Severity
    public var file: String
    /// 1-based line number; 0 when the problem belongs to the file as a whole
    /// (for example a required setting that is missing).
    public var line: Int
    public var message: String

    public init(severity: Severity, file: String, line: Int, message: String) {
        self.severity = severity
        self.file = file
        self.line = line
        self.message = message
    }

    static func error(_ location: SourceLocation, _ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(severity: .error, file: location.file, line: location.line, message: message)
    }

    static func warning(_ location: SourceLocation, _ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(severity: .warning, file: location.file, line: location.line, message: message)
    }

    /// `file:line: message`, or `file: message` when no line applies.
    public var description: String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}

/// Thrown when configuration cannot be used; carries every error found.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public init(diagnostics: [ConfigDiagnostic]) {
        self.diagnostics = diagnostics
    }

    /// One diagnostic per line.
    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}

/// Where a line of configuration came from.
struct SourceLocation: Sendable, Equatable {
    var file: String
    var line: Int
}
