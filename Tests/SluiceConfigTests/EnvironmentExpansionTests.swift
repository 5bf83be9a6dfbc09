import Testing
@testable import SluiceConfig

/// `${NAME}` and `$NAME` in `[databases]` values.
@Suite struct EnvironmentExpansionTests {
    private let environment = ["DB_HOST": "db.internal", "DB_PORT": "5433", "DB_NAME": "shop"]

    private func parseDatabases(_ line: String) throws(ConfigurationError) -> DatabaseEntry? {
        let (config, _) = try ConfigurationLoader.parse(text: "[databases]\n\(line)\n[pgbouncer]\nauth_type = trust\n",
                                                        path: configPath, readFile: { _ in nil }, environment: { environment[$0] })
        return config.databases["app"]
    }

    @Test func bracedAndBareNamesExpand() throws {
        let entry = try #require(try parseDatabases("app = host=${DB_HOST} port=$DB_PORT dbname=${DB_NAME}_live"))
        #expect(entry.host == "db.internal" && entry.port == 5433 && entry.serverDatabaseName == "shop_live")
    }

    @Test func aDoubledDollarIsADollar() throws {
        let entry = try #require(try parseDatabases("app = host=h password=pa$$word"))
        #expect(entry.password == "pa$word")
    }

    @Test func anUnsetVariableIsAnErrorNamingIt() {
        let found = errors("[databases]\napp = host=${DB_HOST} port=${DB_PROT}\n[pgbouncer]\nauth_type = trust\n")
        #expect(found.map(\.description) == [
            #"/etc/sluice/pgbouncer.ini:2: database "app": environment variable DB_HOST is not set (write $$ for a dollar sign)"#,
        ], "the test process has no DB_HOST")
        #expect(EnvironmentExpansion.expand("port=${DB_PROT}", lookup: { environment[$0] })
            == .failure(.init(name: "DB_PROT", unterminated: false)))
        #expect(EnvironmentExpansion.expand("host=${DB_HOST", lookup: { environment[$0] })
            == .failure(.init(name: "DB_HOST", unterminated: true)))
        #expect(EnvironmentExpansion.expand("cost=5$", lookup: { environment[$0] }) == .failure(.init(name: "", unterminated: false)))
    }

    @Test func textWithoutDollarsIsUnchanged() {
        #expect(EnvironmentExpansion.expand("host=h port=1", lookup: { _ in nil }) == .success("host=h port=1"))
    }

    @Test func anUnreadableFileSaysWhy() {
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: "/nonexistent/sluice.ini") }
        do {
            _ = try ConfigurationLoader.load(path: "/nonexistent/sluice.ini")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["/nonexistent/sluice.ini: cannot read configuration file: No such file or directory"])
        }
    }
}
