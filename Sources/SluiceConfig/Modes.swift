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
