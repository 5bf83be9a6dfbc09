/// When a server connection is handed back to the pool.
public enum PoolMode: String, Sendable, CaseIterable {
    /// When the client disconnects.
    case session
    /// When a transaction ends.
    case transaction
    /// After every statement; multi-statement transactions are refused.
    case statement
}

/// How clients prove who they are (PgBouncer's `auth_type`).
public enum AuthType: String, Sendable, CaseIterable {
    /// No password; the user must still be listed in `auth_file` when one is set.
    case trust
    /// No password and any user name is accepted, without consulting `auth_file`.
    case any
    /// Cleartext password checked against `auth_file`.
    case plain
    /// MD5 challenge against `auth_file` (SCRAM is used for users stored with a SCRAM verifier).
    case md5
    /// SCRAM-SHA-256 against `auth_file`.
    case scramSHA256 = "scram-sha-256"
    /// Per-connection method from `auth_hba_file`.
    case hba
    /// A TLS client certificate whose common name is the user name (client_tls_sslmode
    /// verify-ca or verify-full makes clients present one).
    case cert

    /// Whether the method checks passwords, so that `auth_file` must be set.
    public var requiresAuthFile: Bool {
        switch self {
        case .plain, .md5, .scramSHA256: true
        case .trust, .any, .hba, .cert: false
        }
    }
}

/// The libpq `sslmode` names accepted by the `*_tls_sslmode` settings.
public enum TLSModeNames {
    public static let all = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
}

/// The ways PostgreSQL may ask Sluice to authenticate (`server_auth_methods`, after libpq's
/// `require_auth`): a server that asks for another one, or lets Sluice in without any, is
/// refused before Sluice sends it a password or a client's query.
public struct ServerAuthMethods: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// No authentication: AuthenticationOk straight after the startup packet (trust).
    public static let none = ServerAuthMethods(rawValue: 1)
    /// The password in clear text.
    public static let password = ServerAuthMethods(rawValue: 2)
    public static let md5 = ServerAuthMethods(rawValue: 4)
    public static let scramSHA256 = ServerAuthMethods(rawValue: 8)
    public static let any: ServerAuthMethods = [.none, .password, .md5, .scramSHA256]

    /// The names in the order `description` lists them.
    static let names: [(String, ServerAuthMethods)] = [("none", .none), ("password", .password), ("md5", .md5), ("scram-sha-256", .scramSHA256)]

    /// Parses a comma-separated list of `none`, `password`, `md5` and `scram-sha-256`, or the
    /// same list with every name prefixed by `!` (all methods but those), or `any`.
    public init?(parsing text: String) {
        let items = text.split(separator: ",").map(\.trimmed).filter { !$0.isEmpty }
        guard !items.isEmpty else { return nil }
        if items == ["any"] {
            self = .any
            return
        }
        let negated = items.allSatisfy { $0.hasPrefix("!") }
        guard negated || !items.contains(where: { $0.hasPrefix("!") }) else { return nil }
        var chosen: ServerAuthMethods = []
        for item in items {
            let name = negated ? String(item.dropFirst()) : item
            guard let method = Self.names.first(where: { $0.0 == name.lowercased() })?.1 else { return nil }
            chosen.insert(method)
        }
        self = negated ? Self.any.subtracting(chosen) : chosen
        guard !isEmpty else { return nil }
    }

    /// `any`, or the accepted names, comma-separated.
    public var description: String {
        self == .any ? "any" : Self.names.filter { contains($0.1) }.map(\.0).joined(separator: ",")
    }
}
