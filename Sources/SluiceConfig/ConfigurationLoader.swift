import Foundation

/// Reads PgBouncer-compatible configuration.
public enum ConfigurationLoader {
    /// Reads the file (and its includes and the auth_file, relative paths resolved against the
    /// directory of the file that names them). Throws ConfigurationError with every error;
    /// returns warnings otherwise.
    public static func load(
        path: String
    ) throws(ConfigurationError) -> (Configuration, warnings: [ConfigDiagnostic]) {
        guard let text = readFile(path) else {
            let location = SourceLocation(file: path, line: 0)
            throw ConfigurationError(diagnostics: [.error(location, "cannot read configuration file")])
        }
        return try parse(text: text, path: path, readFile: readFile)
    }

    /// The same from text (for tests); `readFile` resolves %include and auth_file, receiving
    /// already-resolved paths and returning nil for a file that cannot be read.
    public static func parse(
        text: String, path: String, readFile: (String) -> String?
    ) throws(ConfigurationError) -> (Configuration, warnings: [ConfigDiagnostic]) {
        let (items, readDiagnostics) = IniReader.read(text: text, path: path, readFile: readFile)
        var builder = ConfigurationBuilder(sourcePath: path)
        builder.diagnostics = readDiagnostics
        for item in items {
            builder.add(item)
        }
        builder.loadAuthFile(readFile: readFile)
        builder.loadHBAFile(readFile: readFile)
        builder.resolveDNSHostsFile()
        builder.validate()

        let errors = builder.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty else { throw ConfigurationError(diagnostics: errors) }
        return (builder.configuration, builder.diagnostics)
    }

    /// A whole file as UTF-8 text, or nil if it cannot be read.
    public static func readFile(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
              !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: path)
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
