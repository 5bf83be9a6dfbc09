/// How a `LocalCluster` is set up.
public struct LocalClusterOptions: Sendable {
    /// The pg_hba.conf method for TCP connections from 127.0.0.1 and ::1. Unix-socket connections and
    /// the `postgres` superuser over TCP are always `trust`, so the harness can inspect the server.
    public enum HostAuth: String, Sendable {
        case trust
        case md5
        case scramSHA256 = "scram-sha-256"
        case password
    }

    public var hostAuth: HostAuth
    /// Login roles created after start. Passwords are stored as MD5 when `hostAuth` is `.md5`, else as
    /// SCRAM-SHA-256. A role named `postgres` (the bootstrap superuser) is altered instead of created.
    public var roles: [(name: String, password: String?, superuser: Bool)]
    /// Databases created after start (and after the roles), owned by `postgres`.
    public var databases: [String]
    /// postgresql.conf settings written after (so overriding) the defaults; values are written as
    /// quoted strings, which PostgreSQL accepts for every setting type (e.g. `"max_connections": "50"`).
    public var extraSettings: [String: String]
    /// TCP port; nil picks a free one (and retries with another if it gets taken meanwhile).
    public var port: Int?
    /// The loopback address it listens on: 127.0.0.1 unless a test needs a second address,
    /// such as a host name that moves from one server to another.
    public var listenAddress = "127.0.0.1"
    /// PEM certificate and key files: the server runs with `ssl = on` and pg_hba accepts TCP
    /// logins (other than the superuser's) only over TLS (`hostssl`).
    public var tls: (certificateFile: String, keyFile: String)?

    public init(
        hostAuth: HostAuth = .trust,
        roles: [(name: String, password: String?, superuser: Bool)] = [],
        databases: [String] = [],
        extraSettings: [String: String] = [:],
        port: Int? = nil,
        tls: (certificateFile: String, keyFile: String)? = nil
    ) {
        self.tls = tls
        self.hostAuth = hostAuth
        self.roles = roles
        self.databases = databases
        self.extraSettings = extraSettings
        self.port = port
    }

    /// `password_encryption` matching `hostAuth`.
    var passwordEncryption: String {
        hostAuth == .md5 ? "md5" : "scram-sha-256"
    }
}
