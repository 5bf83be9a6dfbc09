import Glibc

/// Reads PgBouncer-compatible configuration.
public enum ConfigurationLoader {
    /// Reads the file (and its includes and the auth_file, relative paths resolved against the
    /// directory of the file that names them). Throws ConfigurationError with every error;
    /// returns warnings otherwise.
    public static func load(
        path: String
    ) throws(ConfigurationError) -> (Configuration, warnings: [ConfigDiagnostic]) {
        let text: String
        switch read(path) {
        case .success(let contents): text = contents
        case .failure(let reason):
            throw ConfigurationError(diagnostics: [.error(SourceLocation(file: path, line: 0), "cannot read configuration file: \(reason.message)")])
        }
        return try parse(text: text, path: path, readFile: readFile)
    }

    /// The same from text (for tests); `readFile` resolves %include and auth_file, receiving
    /// already-resolved paths and returning nil for a file that cannot be read; `environment`
    /// gives the variables `[databases]` values name.
    public static func parse(
        text: String, path: String, readFile: (String) -> String?,
        environment: @escaping (String) -> String? = { getenv($0).map { String(cString: $0) } }
    ) throws(ConfigurationError) -> (Configuration, warnings: [ConfigDiagnostic]) {
        let (items, readDiagnostics) = IniReader.read(text: text, path: path, readFile: readFile)
        var builder = ConfigurationBuilder(sourcePath: path, environment: environment)
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
        try? read(path).get()
    }

    /// Why a file could not be read: the system's reason.
    public struct ReadFailure: Error {
        public let message: String
    }

    /// A whole file as UTF-8 text, or why it cannot be read.
    public static func read(_ path: String) -> Result<String, ReadFailure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(ReadFailure(message: String(cString: strerror(errno)))) }
        defer { close(fd) }
        var status = stat()
        if fstat(fd, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR {
            return .failure(ReadFailure(message: String(cString: strerror(EISDIR))))
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ReadFailure(message: String(cString: strerror(errno))))
            }
            bytes += chunk[0..<count]
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }
}
