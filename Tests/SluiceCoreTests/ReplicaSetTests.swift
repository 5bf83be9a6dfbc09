import SluiceConfig
import Testing
@testable import SluiceCore

/// Which replica a read may use: healthy, not banned, close enough, caught up with the client.
@Suite struct ReplicaSetTests {
    func polled(_ positions: [UInt64], primary: UInt64 = 1000) -> ReplicaSet {
        var set = ReplicaSet(replicaCount: positions.count)
        set.primaryPolled(position: primary)
        for (index, position) in positions.enumerated() {
            set.replicaPolled(host: index + 1, replayed: position, secondsSinceReplay: 0, inRecovery: true, now: 0, banTime: 10)
        }
        return set
    }

    @Test func aReplicaNeverPolledGetsNoReads() {
        var set = ReplicaSet(replicaCount: 1)
        #expect(set.choose(seeing: 0, now: 0, lagLimit: .none, roundRobin: false) == .primary)
    }

    @Test func aReadWaitsForAReplicaThatHasReplayedItsClientsWrite() {
        var set = polled([100, 500])
        #expect(set.choose(seeing: 400, now: 0, lagLimit: .none, roundRobin: false) == .replica(host: 2))
        #expect(set.choose(seeing: 900, now: 0, lagLimit: .none, roundRobin: false) == .wait)
        set.replicaPolled(host: 1, replayed: 950, secondsSinceReplay: 0, inRecovery: true, now: 0, banTime: 10)
        #expect(set.choose(seeing: 900, now: 0, lagLimit: .none, roundRobin: false) == .replica(host: 1))
    }

    @Test func theLeastBusyReplicaOrEachInTurn() {
        var set = polled([1000, 1000])
        #expect(set.choose(seeing: 0, now: 0, lagLimit: .none, roundRobin: false) == .replica(host: 1))
        #expect(set.choose(seeing: 0, now: 0, lagLimit: .none, roundRobin: false) == .replica(host: 2))
        set.finished(host: 1)
        #expect(set.choose(seeing: 0, now: 0, lagLimit: .none, roundRobin: false) == .replica(host: 1))
        var turns = polled([1000, 1000])
        let hosts = (0..<4).map { _ in turns.choose(seeing: 0, now: 0, lagLimit: .none, roundRobin: true) }
        #expect(hosts == [.replica(host: 1), .replica(host: 2), .replica(host: 1), .replica(host: 2)])
    }

    @Test func aBannedReplicaIsSkippedUntilItAnswersAgain() {
        var set = polled([1000, 1000])
        set.ban(host: 1, now: 0, banTime: 10)
        #expect(set.choose(seeing: 0, now: 5, lagLimit: .none, roundRobin: true) == .replica(host: 2))
        set.ban(host: 2, now: 0, banTime: 10)
        #expect(set.choose(seeing: 0, now: 5, lagLimit: .none, roundRobin: true) == .primary)
        #expect(set.choose(seeing: 0, now: 11, lagLimit: .none, roundRobin: true) == .primary, "not until polled again")
        set.replicaPolled(host: 2, replayed: 1000, secondsSinceReplay: 0, inRecovery: true, now: 11, banTime: 10)
        #expect(set.choose(seeing: 0, now: 11, lagLimit: .none, roundRobin: true) == .replica(host: 2))
        // A good poll during the ban ends it: the replica is back as soon as it answers.
        set.replicaPolled(host: 1, replayed: 1000, secondsSinceReplay: 0, inRecovery: true, now: 2, banTime: 10)
        #expect(set.condition(host: 1, now: 2, lagLimit: .none) == .ready)
        #expect(set.replicas[0].bans == 1 && set.replicas[1].bans == 1)
    }

    @Test func aPromotedReplicaIsNoReplica() {
        var set = polled([1000])
        set.replicaPolled(host: 1, replayed: 1000, secondsSinceReplay: 0, inRecovery: false, now: 0, banTime: 10)
        #expect(set.choose(seeing: 0, now: 1, lagLimit: .none, roundRobin: false) == .primary)
    }

    @Test func aReplicaTooFarBehindGetsNoReads() {
        var set = polled([100, 990], primary: 1000)
        #expect(set.choose(seeing: 0, now: 0, lagLimit: .bytes(50), roundRobin: false) == .replica(host: 2))
        set.replicaPolled(host: 2, replayed: 990, secondsSinceReplay: 8, inRecovery: true, now: 0, banTime: 10)
        #expect(set.choose(seeing: 0, now: 0, lagLimit: .seconds(5), roundRobin: false) == .replica(host: 1))
        // Caught up with the primary, seconds since the last replayed transaction are no lag.
        set.replicaPolled(host: 2, replayed: 1000, secondsSinceReplay: 60, inRecovery: true, now: 0, banTime: 10)
        #expect(set.replicas[1].secondsBehind == 0)
    }

    @Test func countersForTheLog() {
        var set = polled([900, 1000])
        _ = set.choose(seeing: 0, now: 0, lagLimit: .none, roundRobin: true)
        set.wrote(at: 1000)
        set.ban(host: 1, now: 0, banTime: 10)
        set.ban(host: 2, now: 0, banTime: 10)
        _ = set.choose(seeing: 0, now: 1, lagLimit: .none, roundRobin: true)
        #expect(set.summary == "1 writes and 1 reads on the primary; replica1: 1 reads, 1 bans, position unknown; replica2: 0 reads, 1 bans, position unknown")
        #expect(polled([900]).lagBytes(host: 1) == 100)
    }

    @Test func positionsParseAsPostgreSQLPrintsThem() {
        #expect(LSN.parse("16/B374D848") == 0x16_B374_D848)
        #expect(LSN.parse("0/0") == 0)
        #expect(LSN.parse("nonsense") == nil)
        #expect(LSN.parse("1/2/3") == nil)
    }
}
