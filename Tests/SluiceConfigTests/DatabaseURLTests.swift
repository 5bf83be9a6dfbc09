import Testing
@testable import SluiceConfig

/// A sidecar configured by one URL.
@Suite struct DatabaseURLTests {
    @Test func everyPart() throws {
        let url = try DatabaseURL(parsing: "postgres://app%40corp:p%40ss%3Aword@db.example.com:6543/shop?sslmode=verify-full&sslrootcert=/etc/rds.pem")
        #expect(url.user == "app@corp" && url.password == "p@ss:word" && url.host == "db.example.com" && url.port == 6543)
        #expect(url.database == "shop" && url.sslMode == "verify-full" && url.sslRootCert == "/etc/rds.pem")
    }

    @Test func defaultsAsLibpq() throws {
        let url = try DatabaseURL(parsing: "postgresql://app:secret@[::1]")
        #expect(url.host == "::1" && url.port == 5432 && url.database == "app")
    }

    @Test(arguments: [
        ("mysql://a:b@h/d", "DATABASE_URL must start with postgres:// or postgresql://"),
        ("postgres://app@h/d", "DATABASE_URL must carry a password (user:password@host)"),
        ("postgres://h/d", "DATABASE_URL must name a user and password (user:password@host)"),
        ("postgres://a:b@h:99999/d", "DATABASE_URL has an invalid port"),
        ("postgres://a:b@h/d?application_name=x", "DATABASE_URL: parameter \"application_name\" is not supported (only sslmode and sslrootcert)"),
        ("postgres://a:b@h/d?sslmode=sometimes", "DATABASE_URL: sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full"),
        ("postgres://a:%zz@h/d", "DATABASE_URL has an invalid percent-escape"),
    ])
    func invalid(url: String, message: String) {
        #expect(throws: DatabaseURL.Invalid(message: message)) { try DatabaseURL(parsing: url) }
    }

    @Test func theSidecarConfiguration() throws {
        let (config, warnings) = try ConfigurationLoader.load(databaseURL: "postgres://app:pa$s@127.0.0.1:5433/shop?sslmode=require")
        #expect(warnings.isEmpty)
        let entry = try #require(config.databases["shop"])
        #expect(entry.host == "127.0.0.1" && entry.port == 5433 && entry.serverDatabaseName == "shop")
        #expect(config.settings.listenAddresses == ["127.0.0.1"] && config.settings.listenPort == 6432)
        #expect(config.settings.poolMode == .transaction && config.settings.authType == .scramSHA256)
        #expect(config.settings.unixSocketDir == nil && config.settings.serverTLSSSLMode == "require")
        #expect(config.userSecrets["app"] == .plaintext("pa$s"))
    }
}
