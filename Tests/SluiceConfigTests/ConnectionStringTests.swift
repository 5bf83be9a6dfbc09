import Testing
@testable import SluiceConfig

@Suite struct ConnectionStringTests {
    private func pairs(_ text: String) throws -> [String] {
        try ConnectionString.parse(text).map { "\($0.key)=\($0.value)" }
    }

    @Test func plainValuesAndSpacesAroundEquals() throws {
        #expect(try pairs("host=db1  port = 5433\tdbname= app") == ["host=db1", "port=5433", "dbname=app"])
        #expect(try pairs("") == [])
        #expect(try pairs("   ") == [])
    }

    @Test func keysAreLowercased() throws {
        #expect(try pairs("DateStyle=ISO") == ["datestyle=ISO"])
    }

    @Test func singleQuotedValuesWithEscapes() throws {
        #expect(try pairs("connect_query='SELECT 1' user=x") == ["connect_query=SELECT 1", "user=x"])
        #expect(try pairs(#"password='it\'s'"#) == ["password=it's"])
        #expect(try pairs("password='it''s'") == ["password=it's"])
        #expect(try pairs(#"password='back\\slash'"#) == [#"password=back\slash"#])
        #expect(try pairs("password=''") == ["password="])
        #expect(try pairs("a='' b=1") == ["a=", "b=1"])
    }

    @Test func backslashEscapesInUnquotedValues() throws {
        #expect(try pairs(#"password=a\ b\\c"#) == [#"password=a b\c"#])
    }

    @Test func malformedStringsFail() {
        #expect(throws: ConnectionString.Failure.self) { try ConnectionString.parse("host") }
        #expect(throws: ConnectionString.Failure.self) { try ConnectionString.parse("=x") }
        #expect(throws: ConnectionString.Failure.self) { try ConnectionString.parse("a='open") }
        #expect(throws: ConnectionString.Failure.self) { try ConnectionString.parse(#"a='x\"#) }
        #expect(throws: ConnectionString.Failure.self) { try ConnectionString.parse(#"a=x\"#) }
    }

    @Test func databaseEntryFromEveryParameter() {
        let (entry, errors) = DatabaseEntry.parse(name: "app", connectionString: """
            host=10.0.0.5 port=6000 dbname=app_prod user=svc password='p w' pool_size=7 min_pool_size=2 \
            reserve_pool=3 pool_mode=transaction max_db_connections=50 connect_query='SET x = ''y''' \
            client_encoding=UTF8 datestyle=ISO timezone=UTC auth_user=auth
            """)
        #expect(errors == [])
        #expect(entry == DatabaseEntry(
            name: "app", host: "10.0.0.5", port: 6000, dbname: "app_prod", user: "svc", password: "p w",
            poolSize: 7, minPoolSize: 2, reservePool: 3, poolMode: .transaction, maxDBConnections: 50,
            connectQuery: "SET x = 'y'", clientEncoding: "UTF8", dateStyle: "ISO", timeZone: "UTC",
            authUser: "auth"))
        #expect(entry.usesUnixSocket == false)
    }

    @Test func databaseDefaultsAndUnixSockets() {
        let (empty, _) = DatabaseEntry.parse(name: "x", connectionString: "")
        #expect(empty == DatabaseEntry(name: "x"))
        #expect(empty.host == nil && empty.port == 5432 && empty.dbname == nil)
        #expect(empty.usesUnixSocket)
        #expect(empty.serverDatabaseName == "x")
        let (socket, _) = DatabaseEntry.parse(name: "x", connectionString: "host=/var/run/postgresql")
        #expect(socket.usesUnixSocket)
        let (alias, _) = DatabaseEntry.parse(name: "x", connectionString: "reserve_pool_size=4")
        #expect(alias.reservePool == 4)
    }

    @Test func databaseErrorsNameTheParameter() {
        let (_, errors) = DatabaseEntry.parse(
            name: "app", connectionString: "port=0 pool_mode=sesion bogus=1 pool_size=-1")
        #expect(errors == [
            "database \"app\": port: invalid value \"0\"; expected an integer from 1 to 65535",
            "database \"app\": pool_mode: invalid value \"sesion\"; expected session, transaction or statement",
            "database \"app\": unknown parameter \"bogus\"",
            "database \"app\": pool_size: invalid value \"-1\"; expected a non-negative integer",
        ])
    }

    @Test func userEntries() {
        let (user, errors) = UserEntry.parse(name: "bob", connectionString: "pool_mode=statement max_user_connections=10")
        #expect(errors == [])
        #expect(user == UserEntry(name: "bob", poolMode: .statement, maxUserConnections: 10))
        let (_, bad) = UserEntry.parse(name: "bob", connectionString: "pool_size=3 max_user_connections=x")
        #expect(bad == [
            "user \"bob\": unknown parameter \"pool_size\"",
            "user \"bob\": max_user_connections: invalid value \"x\"; expected a non-negative integer",
        ])
    }
}
