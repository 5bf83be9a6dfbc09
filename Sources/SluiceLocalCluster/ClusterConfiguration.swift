/// The text of the configuration files and setup SQL for a local cluster.
enum ClusterConfiguration {
    /// Name of the file holding Sluice's settings, included from the end of postgresql.conf.
    static let includedFileName = "sluice-cluster.conf"

    /// Settings for a throwaway test server: loopback only, durability off for speed.
    static func settings(port: Int, socketDirectory: String, options: LocalClusterOptions) -> String {
        var lines = [
            "listen_addresses = '\(options.listenAddress)'",
            "port = \(port)",
            "unix_socket_directories = \(settingValue(socketDirectory))",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 200",
            "password_encryption = \(settingValue(options.passwordEncryption))",
            "logging_collector = off",
        ]
        if options.tls != nil {
            lines += ["ssl = on", "ssl_cert_file = '\(tlsCertificateName)'", "ssl_key_file = '\(tlsKeyName)'"]
        }
        for (name, value) in options.extraSettings.sorted(by: { $0.key < $1.key }) {
            lines.append("\(name) = \(settingValue(value))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The certificate and key a TLS cluster's data directory holds.
    static let tlsCertificateName = "server.crt"
    static let tlsKeyName = "server.key"

    static func hostBasedAuthentication(_ hostAuth: LocalClusterOptions.HostAuth, tlsOnly: Bool = false) -> String {
        let method = hostAuth.rawValue
        let others = tlsOnly ? "hostssl" : "host   "
        return """
            # Written by SluiceLocalCluster. First match wins.
            local     all          all                         trust
            host      all          postgres     127.0.0.0/8    trust
            host      all          postgres     ::1/128        trust
            \(others)   all          all          127.0.0.0/8    \(method)
            \(others)   all          all          ::1/128        \(method)
            host      replication  all          127.0.0.0/8    trust
            host      replication  all          ::1/128        trust

            """
    }

    /// SQL creating the requested roles, then databases. `CREATE DATABASE` cannot run inside a
    /// transaction block, so the script is meant for psql's default autocommit mode.
    static func setupScript(_ options: LocalClusterOptions, superuser: String) -> String {
        var statements = ["SET password_encryption = \(literal(options.passwordEncryption));"]
        for role in options.roles {
            var attributes = ["LOGIN"]
            if role.superuser { attributes.append("SUPERUSER") }
            if let password = role.password { attributes.append("PASSWORD \(literal(password))") }
            let verb = role.name == superuser ? "ALTER" : "CREATE"
            statements.append("\(verb) ROLE \(identifier(role.name)) \(attributes.joined(separator: " "));")
        }
        for database in options.databases {
            statements.append("CREATE DATABASE \(identifier(database));")
        }
        return statements.joined(separator: "\n") + "\n"
    }

    /// A double-quoted SQL identifier.
    static func identifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A single-quoted SQL string literal (standard_conforming_strings is on, the default since 9.1,
    /// so backslashes need no escaping).
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// A single-quoted postgresql.conf value; unlike SQL, the configuration parser treats backslash as an escape.
    static func settingValue(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''") + "'"
    }
}
