import Testing
@testable import SluiceConfig

/// The pgbouncer.ini extension for read/write splitting.
@Suite struct ReadWriteSplitConfigTests {
    @Test func aDatabaseNamesItsReplicasAndItsReplicaAlias() throws {
        let (config, warnings) = try parse("""
            [databases]
            app = host=primary port=5433 dbname=app replicas=r1:5434,r2 replica_alias=app_ro read_your_writes=global
            plain = host=other
            quiet = host=p replicas=r read_write_split=off
            [pgbouncer]
            auth_type = trust
            """)
        #expect(warnings == [])
        let app = try #require(config.database(named: "app"))
        #expect(app.replicas == [ReplicaAddress(host: "r1", port: 5434), ReplicaAddress(host: "r2")])
        #expect(app.splitsReadsAndWrites)
        #expect(app.readYourWrites == .global)
        #expect(app.address(ofHost: 0) == ("primary", 5433))
        #expect(app.address(ofHost: 1) == ("r1", 5434))
        #expect(app.address(ofHost: 2) == ("r2", 5433), "a replica without a port has the entry's")
        // The alias is the same database, for replicas only.
        let alias = try #require(config.database(named: "app_ro"))
        #expect(alias.name == "app" && alias.replicasOnly && alias.serverDatabaseName == "app")
        #expect(config.database(named: "plain")?.splitsReadsAndWrites == false)
        #expect(config.database(named: "quiet")?.splitsReadsAndWrites == false)
        #expect(config.database(named: "plain")?.readYourWrites == .client, "the default")
    }

    @Test func badValuesAreReported() {
        let found = errors("""
            [databases]
            app = host=p replicas=r1:notaport read_your_writes=sometimes
            [pgbouncer]
            auth_type = trust
            max_replica_lag = fast
            """)
        #expect(found.count == 3, "\(found)")
    }

    @Test func theGlobalSettings() throws {
        let defaults = try settings("")
        #expect(defaults.maxReplicaLag == .none)
        #expect(defaults.replicaBalance == .leastOutstanding)
        #expect(defaults.writingFunctions.contains("nextval"))
        let set = try settings("""
            max_replica_lag = 16MB
            replica_poll_interval = 5ms
            replica_wait_timeout = 2s
            replica_ban_time = 1min
            replica_balance = round_robin
            writing_functions = nextval, audit_*
            """)
        #expect(set.maxReplicaLag == .bytes(16 * 1024 * 1024))
        #expect(set.replicaPollInterval == 0.005)
        #expect(set.replicaWaitTimeout == 2)
        #expect(set.replicaBanTime == 60)
        #expect(set.replicaBalance == .roundRobin)
        #expect(set.writingFunctions == ["nextval", "audit_*"])
        #expect(try settings("max_replica_lag = 5s").maxReplicaLag == .seconds(5))
        #expect(try settings("max_replica_lag = 0").maxReplicaLag == .none)
    }
}
