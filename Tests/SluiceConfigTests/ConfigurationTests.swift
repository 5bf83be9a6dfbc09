import Foundation
import SluiceAuth
import Testing
@testable import SluiceConfig

@Suite struct ConfigurationTests {
    @Test func fullPgBouncerStyleConfig() throws {
        let (config, warnings) = try parse("""
            [databases]
            app = host=db.internal port=5433 dbname=app_prod pool_size=40 pool_mode=transaction
            "odd name" = host=/var/run/postgresql
            * = host=fallback.internal user=shared

            [users]
            report = pool_mode=session max_user_connections=3

            [pgbouncer]
            listen_addr = *
            auth_type = scram-sha-256
            auth_file = userlist.txt
            """, files: ["/etc/sluice/userlist.txt": "\"alice\" \"secret\"\n"])
        #expect(warnings == [])
        #expect(config.sourcePath == configPath)
        #expect(config.databases.keys.sorted() == ["app", "odd name"])
        #expect(config.databases["app"] == DatabaseEntry(
            name: "app", host: "db.internal", port: 5433, dbname: "app_prod", poolSize: 40, poolMode: .transaction))
        #expect(config.databases["odd name"]?.host == "/var/run/postgresql")
        #expect(config.fallbackDatabase == DatabaseEntry(name: "*", host: "fallback.internal", user: "shared"))
        #expect(config.users == ["report": UserEntry(name: "report", poolMode: .session, maxUserConnections: 3)])
        #expect(config.settings.authType == .scramSHA256)
        #expect(config.settings.authFile == "/etc/sluice/userlist.txt")
        #expect(config.userSecrets == ["alice": .plaintext("secret")])
    }

    @Test func databaseLookupUsesFallbackWithNameFilledIn() throws {
        let (config, _) = try parse("""
            [databases]
            app = host=a dbname=real
            plain = host=b
            * = host=c port=6000
            [pgbouncer]
            auth_type = trust
            """)
        #expect(config.database(named: "app")?.dbname == "real")
        #expect(config.database(named: "plain") == DatabaseEntry(name: "plain", host: "b", dbname: "plain"))
        #expect(config.database(named: "other") == DatabaseEntry(name: "other", host: "c", port: 6000, dbname: "other"))
        let (noFallback, _) = try parse("[databases]\napp = host=a\n[pgbouncer]\nauth_type = any\n")
        #expect(noFallback.database(named: "other") == nil)
        #expect(noFallback.fallbackDatabase == nil)
    }

    @Test func fallbackKeepsAnExplicitDbname() throws {
        let (config, _) = try parse("[databases]\n* = dbname=shared\n[pgbouncer]\nauth_type = trust\n")
        #expect(config.database(named: "x")?.dbname == "shared")
        #expect(config.database(named: "x")?.name == "x")
    }

    @Test func poolModePrecedenceIsUserThenDatabaseThenGlobal() throws {
        let (config, _) = try parse("""
            [databases]
            tx = pool_mode=transaction
            plain =
            [users]
            st = pool_mode=statement
            limited = max_user_connections=2
            [pgbouncer]
            auth_type = trust
            pool_mode = session
            max_user_connections = 9
            """)
        let tx = try #require(config.database(named: "tx"))
        let plain = try #require(config.database(named: "plain"))
        #expect(config.poolMode(database: tx, user: "st") == .statement)
        #expect(config.poolMode(database: tx, user: "limited") == .transaction)
        #expect(config.poolMode(database: plain, user: "nobody") == .session)
        #expect(config.poolMode(database: plain, user: "st") == .statement)
        #expect(config.maxUserConnections(for: "limited") == 2)
        #expect(config.maxUserConnections(for: "st") == 9)
    }

    @Test func perDatabaseLimitsFallBackToGlobals() throws {
        let (config, _) = try parse("""
            [databases]
            big = pool_size=50 min_pool_size=5 reserve_pool=2 max_db_connections=80
            small =
            [pgbouncer]
            auth_type = trust
            default_pool_size = 10
            min_pool_size = 1
            reserve_pool_size = 3
            max_db_connections = 40
            """)
        let big = try #require(config.database(named: "big"))
        let small = try #require(config.database(named: "small"))
        #expect(config.poolSize(for: big) == 50 && config.poolSize(for: small) == 10)
        #expect(config.minPoolSize(for: big) == 5 && config.minPoolSize(for: small) == 1)
        #expect(config.reservePoolSize(for: big) == 2 && config.reservePoolSize(for: small) == 3)
        #expect(config.maxDBConnections(for: big) == 80 && config.maxDBConnections(for: small) == 40)
    }

    @Test func unknownConnstringKeyIsAnErrorWithFileAndLine() {
        let found = errors("[pgbouncer]\nauth_type = trust\n[databases]\napp = host=a sslmode=require\n")
        #expect(found.map(\.description) == [
            #"/etc/sluice/pgbouncer.ini:4: database "app": unknown parameter "sslmode""#,
        ])
    }

    @Test func errorsFromEveryPlaceAreCollected() {
        let found = errors("""
            orphan = 1
            [databases]
            a = port=x
            [users]
            u = pool_mode=nope
            [pgbouncer]
            auth_type = md5
            threads = 0
            %include missing.ini
            """)
        #expect(found.map(\.line).sorted() == [1, 3, 5, 7, 8, 9])
        #expect(found.allSatisfy { $0.severity == .error && $0.file == configPath })
        #expect(found.contains { $0.line == 7 && $0.message.contains("needs auth_file") })
    }

    @Test func passwordAuthNeedsAnAuthFile() {
        for type in ["md5", "scram-sha-256", "plain"] {
            let found = errors("[pgbouncer]\nauth_type = \(type)\n")
            #expect(found.map(\.description) == [
                "\(configPath):2: auth_type \(type) needs auth_file to be set to a userlist file",
            ])
        }
        // The default auth_type is md5, so an empty file needs one too (no line to point at).
        #expect(errors("").map(\.description) == [
            "\(configPath): auth_type md5 needs auth_file to be set to a userlist file",
        ])
        #expect(errors("[pgbouncer]\nauth_type = trust\n") == [])
        #expect(errors("[pgbouncer]\nauth_type = any\n") == [])
    }

    @Test func unreadableAuthFileNamesThePath() {
        let found = errors("[pgbouncer]\nauth_type = md5\nauth_file = /nope/users.txt\n")
        #expect(found.map(\.description) == [
            #"/etc/sluice/pgbouncer.ini:3: auth_file: cannot read file "/nope/users.txt""#,
        ])
    }

    @Test func malformedUserlistLinesFailTheLoad() {
        let found = errors("[pgbouncer]\nauth_file = u.txt\n", files: ["/etc/sluice/u.txt": "\"a\" \"b\"\nbroken\n"])
        #expect(found.map(\.description) == ["/etc/sluice/u.txt:2: expected a double-quoted user name"])
    }

    @Test func authFileInIncludeResolvesAgainstTheIncludedFile() throws {
        let (config, _) = try parse("[pgbouncer]\n%include conf.d/auth.ini\n", files: [
            "/etc/sluice/conf.d/auth.ini": "auth_file = users.txt\n",
            "/etc/sluice/conf.d/users.txt": "\"bob\" \"pw\"\n",
        ])
        #expect(config.settings.authFile == "/etc/sluice/conf.d/users.txt")
        #expect(config.userSecrets == ["bob": .plaintext("pw")])
    }

    @Test func includedDatabasesAndErrorsPointIntoTheIncludedFile() throws {
        let files = ["/etc/sluice/dbs.ini": "one = host=x\ntwo = bogus=1\n"]
        let found = errors("[pgbouncer]\nauth_type = trust\n[databases]\n%include dbs.ini\n", files: files)
        #expect(found.map(\.description) == [#"/etc/sluice/dbs.ini:2: database "two": unknown parameter "bogus""#])
        let (config, _) = try parse(
            "[pgbouncer]\nauth_type = trust\n[databases]\n%include dbs.ini\n",
            files: ["/etc/sluice/dbs.ini": "one = host=x\n"])
        #expect(config.databases["one"]?.host == "x")
    }

    @Test func unknownSectionsAndRedefinedDatabasesWarn() throws {
        let (config, warnings) = try parse("""
            [pgbouncer]
            auth_type = trust
            [peers]
            1 = host=x
            [databases]
            a = port=1
            a = port=2
            """)
        #expect(config.databases["a"]?.port == 2)
        #expect(warnings.map(\.line) == [3, 7])
        #expect(warnings[0].message.contains("[peers]"))
    }

    @Test func loadReadsRealFiles() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-config-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "[databases]\n* = host=localhost\n[pgbouncer]\n%include extra.ini\nauth_file = users.txt\ntcp_keepalive = 1\n"
            .write(toFile: directory + "/pgbouncer.ini", atomically: true, encoding: .utf8)
        try "listen_port = 7777\n".write(toFile: directory + "/extra.ini", atomically: true, encoding: .utf8)
        try "\"u\" \"md5\(String(repeating: "0", count: 32))\"\n"
            .write(toFile: directory + "/users.txt", atomically: true, encoding: .utf8)

        let (config, warnings) = try ConfigurationLoader.load(path: directory + "/pgbouncer.ini")
        #expect(config.settings.listenPort == 7777)
        #expect(config.settings.authFile == directory + "/users.txt")
        #expect(config.userSecrets == ["u": .md5("md5" + String(repeating: "0", count: 32))])
        #expect(config.fallbackDatabase?.host == "localhost")
        #expect(warnings.map(\.description) == ["\(directory)/pgbouncer.ini:6: tcp_keepalive: PgBouncer setting not supported by Sluice; ignored"])

        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: directory + "/absent.ini") }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: directory) }
    }

    @Test func configurationErrorDescriptionListsEveryDiagnostic() {
        let error = ConfigurationError(diagnostics: [
            ConfigDiagnostic(severity: .error, file: "a.ini", line: 1, message: "x"),
            ConfigDiagnostic(severity: .error, file: "b.ini", line: 0, message: "y"),
        ])
        #expect(error.description == "a.ini:1: x\nb.ini: y")
    }
}
