/// A sidecar's whole configuration from one libpq URL (`DATABASE_URL`, `--database-url`):
/// `postgres://user:password@host:port/dbname?sslmode=verify-full&sslrootcert=/etc/rds.pem`.
/// Sluice then listens on 127.0.0.1:6432 in transaction mode, authenticates the application
/// with SCRAM against the URL's user and password, and logs in to PostgreSQL as that user.
public struct DatabaseURL: Equatable, Sendable {
    public var user: String
    public var password: String
    public var host: String
    public var port: Int
    public var database: String
    /// `sslmode` and `sslrootcert`: server_tls_sslmode and server_tls_ca_file.
    public var sslMode: String?
    public var sslRootCert: String?

    /// Why a URL cannot configure Sluice.
    public struct Invalid: Error, Equatable {
        public let message: String
    }

    public init(parsing text: String) throws(Invalid) {
        guard let scheme = ["postgresql://", "postgres://"].first(where: text.hasPrefix) else {
            throw Invalid(message: "DATABASE_URL must start with postgres:// or postgresql://")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query = Substring()
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let at = rest.lastIndex(of: "@") else { throw Invalid(message: "DATABASE_URL must name a user and password (user:password@host)") }
        let credentials = rest[..<at]
        var location = rest[rest.index(after: at)...]
        guard let colon = credentials.firstIndex(of: ":") else { throw Invalid(message: "DATABASE_URL must carry a password (user:password@host)") }
        user = try Self.decode(credentials[..<colon])
        password = try Self.decode(credentials[credentials.index(after: colon)...])
        guard !user.isEmpty, !password.isEmpty else { throw Invalid(message: "DATABASE_URL must carry a user and a password") }
        database = user
        if let slash = location.firstIndex(of: "/") {
            let name = try Self.decode(location[location.index(after: slash)...])
            if !name.isEmpty { database = name }
            location = location[..<slash]
        }
        port = 5432
        if let colon = location.lastIndex(of: ":"), !location.hasSuffix("]") {
            guard let number = Int(location[location.index(after: colon)...]), (1...65535).contains(number) else {
                throw Invalid(message: "DATABASE_URL has an invalid port")
            }
            port = number
            location = location[..<colon]
        }
        host = try Self.decode(location.hasPrefix("[") && location.hasSuffix("]") ? location.dropFirst().dropLast() : location)
        guard !host.isEmpty else { throw Invalid(message: "DATABASE_URL must name a host") }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let value = try Self.decode(parts.count == 2 ? parts[1] : "")
            switch parts[0] {
            case "sslmode":
                guard TLSModeNames.all.contains(value) else { throw Invalid(message: "DATABASE_URL: sslmode must be one of \(TLSModeNames.all.joined(separator: ", "))") }
                sslMode = value
            case "sslrootcert": sslRootCert = value
            default: throw Invalid(message: "DATABASE_URL: parameter \"\(parts[0])\" is not supported (only sslmode and sslrootcert)")
            }
        }
    }

    /// The configuration file this URL stands for, and the userlist it names as `authFile`.
    public func configuration(authFile: String) -> (ini: String, userlist: String) {
        var lines = [
            "[databases]",
            "\(Self.iniName(database)) = host=\(Self.quoted(host)) port=\(port) dbname=\(Self.quoted(database))",
            "[sluice]",
            "listen_addr = 127.0.0.1",
            "listen_port = 6432",
            "unix_socket_dir =",
            "pool_mode = transaction",
            "auth_type = scram-sha-256",
            "auth_file = \(authFile)",
        ]
        if let sslMode { lines.append("server_tls_sslmode = \(sslMode)") }
        if let sslRootCert { lines.append("server_tls_ca_file = \(sslRootCert)") }
        let userlist = "\"\(user.replacing("\"", with: "\"\""))\" \"\(password.replacing("\"", with: "\"\""))\"\n"
        return (lines.joined(separator: "\n") + "\n", userlist)
    }

    /// Percent-decoding, as URLs carry reserved characters of passwords.
    private static func decode(_ text: Substring) throws(Invalid) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let high = utf8.index(after: index)
                guard high < utf8.endIndex, utf8.index(after: high) < utf8.endIndex,
                      let value = UInt8(String(decoding: [utf8[high], utf8[utf8.index(after: high)]], as: UTF8.self), radix: 16) else {
                    throw Invalid(message: "DATABASE_URL has an invalid percent-escape")
                }
                bytes.append(value)
                index = utf8.index(high, offsetBy: 2)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A libpq connection-string value, single-quoted when it needs to be.
    private static func quoted(_ value: String) -> String {
        value.allSatisfy { !$0.isWhitespace && $0 != "'" && $0 != "\\" && $0 != "$" } && !value.isEmpty
            ? value : "'" + value.replacing("\\", with: "\\\\").replacing("'", with: "\\'").replacing("$", with: "$$") + "'"
    }

    /// The database's name as an ini key.
    private static func iniName(_ name: String) -> String {
        name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" } ? name : "\"\(name.replacing("\"", with: "\"\""))\""
    }
}

extension ConfigurationLoader {
    /// The configuration `url` stands for (see `DatabaseURL`).
    public static func load(databaseURL url: String) throws(ConfigurationError) -> (Configuration, warnings: [ConfigDiagnostic]) {
        let location = SourceLocation(file: "DATABASE_URL", line: 0)
        let parsed: DatabaseURL
        do {
            parsed = try DatabaseURL(parsing: url)
        } catch {
            throw ConfigurationError(diagnostics: [.error(location, error.message)])
        }
        let authFile = "/DATABASE_URL/userlist.txt"
        let (ini, userlist) = parsed.configuration(authFile: authFile)
        return try parse(text: ini, path: "DATABASE_URL", readFile: { $0 == authFile ? userlist : nil }, environment: { _ in nil })
    }
}
