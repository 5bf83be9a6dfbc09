import Testing
@testable import SluiceCore

@Suite struct PoolManagerTests {
    private func manager(size: Int) -> PoolManager {
        var pools = PoolManager()
        #expect(pools.configure(poolA, limits: PoolLimits(poolSize: size)) == [])
        return pools
    }

    @Test func unknownPool() {
        var pools = PoolManager()
        #expect(pools.request(c(1), from: poolA) == [])
        #expect(pools.opened(s(1), in: poolA) == [.close(s(1))])
        #expect(pools.release(s(9), reusable: true) == [])
        #expect(pools.limits(of: poolA) == nil)
    }

    @Test func requestWithIdleServerAssignsAtOnce() {
        var pools = manager(size: 2)
        #expect(pools.request(c(1), from: poolA) == [.open(poolA)])
        #expect(pools.opened(s(1), in: poolA) == [.assign(s(1), to: c(1))])
        #expect(pools.release(s(1), reusable: true) == [])
        #expect(pools.idleServers(in: poolA) == [s(1)])
        #expect(pools.request(c(2), from: poolA) == [.assign(s(1), to: c(2))])
        #expect(pools.idleServers(in: poolA) == [])
        #expect(pools.serverCount(in: poolA) == 1)
    }

    @Test func mostRecentlyUsedIdleServerFirst() {
        var pools = manager(size: 2)
        _ = pools.request(c(1), from: poolA)
        _ = pools.request(c(2), from: poolA)
        _ = pools.opened(s(1), in: poolA)
        _ = pools.opened(s(2), in: poolA)
        #expect(pools.release(s(2), reusable: true) == [])
        #expect(pools.release(s(1), reusable: true) == [])
        #expect(pools.idleServers(in: poolA) == [s(2), s(1)])
        #expect(pools.request(c(3), from: poolA) == [.assign(s(1), to: c(3))])
    }

    @Test func waitingClientsAreServedFIFO() {
        var pools = manager(size: 1)
        #expect(pools.request(c(1), from: poolA) == [.open(poolA)])
        #expect(pools.request(c(2), from: poolA) == [])
        #expect(pools.request(c(3), from: poolA) == [])
        #expect(pools.waitingClients(in: poolA) == [c(1), c(2), c(3)])
        #expect(pools.opened(s(1), in: poolA) == [.assign(s(1), to: c(1))])
        #expect(pools.release(s(1), reusable: true) == [.assign(s(1), to: c(2))])
        #expect(pools.release(s(1), reusable: true) == [.assign(s(1), to: c(3))])
        #expect(pools.release(s(1), reusable: true) == [])
        #expect(pools.idleServers(in: poolA) == [s(1)])
    }

    @Test func neverMoreThanPoolSizeIncludingOpening() {
        var pools = manager(size: 2)
        let actions = (UInt64(1)...5).map { pools.request(c($0), from: poolA) }
        #expect(actions == [[.open(poolA)], [.open(poolA)], [], [], []])
        #expect(pools.serverCount(in: poolA) == 2)
        #expect(pools.opened(s(1), in: poolA) == [.assign(s(1), to: c(1))])
        #expect(pools.request(c(6), from: poolA) == [])
        #expect(pools.serverCount(in: poolA) == 2)
    }

    @Test func opensOnlyAsManyAsWaitersExceedOpening() {
        var pools = manager(size: 10)
        #expect(pools.request(c(1), from: poolA) == [.open(poolA)])
        #expect(pools.request(c(2), from: poolA) == [.open(poolA)])
        #expect(pools.opened(s(1), in: poolA) == [.assign(s(1), to: c(1))])
        // One waiter, one opening: nothing more.
        #expect(pools.release(s(1), reusable: true) == [.assign(s(1), to: c(2))])
        // Now c2 is served and one server is still opening; c3 takes that one.
        #expect(pools.request(c(3), from: poolA) == [])
        #expect(pools.request(c(4), from: poolA) == [.open(poolA)])
        #expect(pools.serverCount(in: poolA) == 3)
        #expect(pools.opened(s(2), in: poolA) == [.assign(s(2), to: c(3))])
        #expect(pools.opened(s(3), in: poolA) == [.assign(s(3), to: c(4))])
    }

    @Test func serverOpenedForNobodyGoesIdle() {
        var pools = manager(size: 2)
        _ = pools.request(c(1), from: poolA)
        pools.withdraw(c(1), from: poolA)
        #expect(pools.waitingClients(in: poolA) == [])
        #expect(pools.opened(s(1), in: poolA) == [])
        #expect(pools.idleServers(in: poolA) == [s(1)])
    }

    @Test func releaseNotReusableClosesAndReopensForWaiters() {
        var pools = manager(size: 1)
        _ = pools.request(c(1), from: poolA)
        _ = pools.request(c(2), from: poolA)
        _ = pools.opened(s(1), in: poolA)
        #expect(pools.release(s(1), reusable: false) == [.open(poolA), .close(s(1))])
        #expect(pools.serverCount(in: poolA) == 1)
        #expect(pools.opened(s(2), in: poolA) == [.assign(s(2), to: c(2))])
        // Without waiters, only the close.
        #expect(pools.release(s(2), reusable: false) == [.close(s(2))])
        #expect(pools.serverCount(in: poolA) == 0)
        // A released server is forgotten: releasing it again does nothing.
        #expect(pools.release(s(2), reusable: true) == [])
    }

    @Test func removeBrokenServerReopensForWaiters() {
        var pools = manager(size: 1)
        _ = pools.request(c(1), from: poolA)
        _ = pools.opened(s(1), in: poolA)
        _ = pools.request(c(2), from: poolA)
        #expect(pools.remove(s(1)) == [.open(poolA)])
        #expect(pools.remove(s(1)) == [])
        // An idle server that breaks just leaves.
        #expect(pools.opened(s(2), in: poolA) == [.assign(s(2), to: c(2))])
        #expect(pools.release(s(2), reusable: true) == [])
        #expect(pools.remove(s(2)) == [])
        #expect(pools.idleServers(in: poolA) == [])
        #expect(pools.serverCount(in: poolA) == 0)
    }

    @Test func openFailedWithNoOtherServerAbandonsWaitersInOrder() {
        var pools = manager(size: 1)
        _ = pools.request(c(1), from: poolA)
        _ = pools.request(c(2), from: poolA)
        _ = pools.request(c(3), from: poolA)
        let (actions, abandoned) = pools.openFailed(in: poolA)
        #expect(actions == [])
        #expect(abandoned == [c(1), c(2), c(3)])
        #expect(pools.waitingClients(in: poolA) == [])
        #expect(pools.serverCount(in: poolA) == 0)
        // The pool works again afterwards.
        #expect(pools.request(c(4), from: poolA) == [.open(poolA)])
    }

    /// A transient failure (PostgreSQL restarting): the waiters stay, and the opening is
    /// returned to be retried.
    @Test func openFailedKeepingWaitersRetriesForThem() {
        var pools = manager(size: 1)
        _ = pools.request(c(1), from: poolA)
        _ = pools.request(c(2), from: poolA)
        let (actions, abandoned) = pools.openFailed(in: poolA, keepingWaiters: true)
        #expect(actions == [.open(poolA)])
        #expect(abandoned == [])
        #expect(pools.waitingClients(in: poolA) == [c(1), c(2)])
        #expect(pools.opened(s(1), in: poolA) == [.assign(s(1), to: c(1))])
    }

    @Test func openFailedWhileAnotherIsOpeningRetries() {
        var pools = manager(size: 2)
        _ = pools.request(c(1), from: poolA)
        _ = pools.request(c(2), from: poolA)
        _ = pools.request(c(3), from: poolA)
        let first = pools.openFailed(in: poolA)
        #expect(first.actions == [.open(poolA)])
        #expect(first.abandoned == [])
        #expect(pools.serverCount(in: poolA) == 2)
    }

    @Test func openFailedWithAnActiveServerKeepsWaiters() {
        var pools = manager(size: 2)
        _ = pools.request(c(1), from: poolA)
        _ = pools.opened(s(1), in: poolA)
        #expect(pools.request(c(2), from: poolA) == [.open(poolA)])
        let (actions, abandoned) = pools.openFailed(in: poolA)
        #expect(abandoned == [])
        #expect(actions == [.open(poolA)])
        #expect(pools.release(s(1), reusable: true) == [.assign(s(1), to: c(2))])
    }

    @Test func withdrawRemovesOnlyThatWaiter() {
        var pools = manager(size: 1)
        _ = pools.request(c(1), from: poolA)
        _ = pools.request(c(2), from: poolA)
        _ = pools.request(c(3), from: poolA)
        pools.withdraw(c(2), from: poolA)
        #expect(pools.waitingClients(in: poolA) == [c(1), c(3)])
        #expect(pools.opened(s(1), in: poolA) == [.assign(s(1), to: c(1))])
        #expect(pools.release(s(1), reusable: true) == [.assign(s(1), to: c(3))])
        #expect(pools.release(s(1), reusable: true) == [])
    }

    @Test func twoServersServeTenClientsInTurn() {
        var pools = manager(size: 2)
        var opens = 0
        var assignments: [(ServerID, ClientID)] = []
        func record(_ actions: [PoolManager.Action]) {
            for action in actions {
                switch action {
                case .open: opens += 1
                case .assign(let server, let client, _): assignments.append((server, client))
                case .close: Issue.record("unexpected close")
                }
            }
        }
        for n in UInt64(1)...10 { record(pools.request(c(n), from: poolA)) }
        #expect(opens == 2)
        record(pools.opened(s(1), in: poolA))
        record(pools.opened(s(2), in: poolA))
        // Each client, in turn, finishes and hands its server to the next.
        var served = 0
        while served < assignments.count {
            let (server, _) = assignments[served]
            record(pools.release(server, reusable: true))
            served += 1
        }
        #expect(assignments.map(\.1) == (UInt64(1)...10).map { c($0) })
        #expect(assignments.map(\.0) == [s(1), s(2), s(1), s(2), s(1), s(2), s(1), s(2), s(1), s(2)])
        #expect(opens == 2)
        #expect(pools.waitingClients(in: poolA) == [])
        #expect(Set(pools.idleServers(in: poolA)) == [s(1), s(2)])
        #expect(pools.serverCount(in: poolA) == 2)
    }

    // MARK: Several event loops

    @Test func checkoutPrefersAnIdleServerOnTheClientsLoop() {
        var pools = manager(size: 3)
        for n in UInt64(1)...3 { _ = pools.request(c(n), from: poolA) }
        _ = pools.opened(s(1), in: poolA, loop: 0)
        _ = pools.opened(s(2), in: poolA, loop: 1)
        _ = pools.opened(s(3), in: poolA, loop: 0)
        #expect(pools.release(s(1), reusable: true, loop: 0) == [])
        #expect(pools.release(s(2), reusable: true, loop: 1) == [])
        #expect(pools.release(s(3), reusable: true, loop: 0) == [])
        // The most recently used server on the client's loop, not the most recent overall.
        #expect(pools.request(c(4, loop: 1), from: poolA, loop: 1) == [.assign(s(2), to: c(4, loop: 1), loop: 1)])
        // None left on loop 1: the most recent elsewhere, named with the loop it must leave.
        #expect(pools.request(c(5, loop: 1), from: poolA, loop: 1) == [.assign(s(3), to: c(5, loop: 1), loop: 0)])
        #expect(pools.request(c(6), from: poolA, loop: 0) == [.assign(s(1), to: c(6), loop: 0)])
    }

    @Test func aReleasedServerGoesToTheFirstWaiterWhateverItsLoop() {
        var pools = manager(size: 1)
        #expect(pools.request(c(1), from: poolA, loop: 0) == [.open(poolA)])
        #expect(pools.request(c(2, loop: 1), from: poolA, loop: 1) == [])
        #expect(pools.request(c(3), from: poolA, loop: 0) == [])
        #expect(pools.opened(s(1), in: poolA, loop: 0) == [.assign(s(1), to: c(1), loop: 0)])
        // Arrival order decides, not locality; the action says where the server is now.
        #expect(pools.release(s(1), reusable: true, loop: 0) == [.assign(s(1), to: c(2, loop: 1), loop: 0)])
        #expect(pools.release(s(1), reusable: true, loop: 1) == [.assign(s(1), to: c(3), loop: 1)])
        #expect(pools.release(s(1), reusable: false, loop: 0) == [.close(s(1), loop: 0)])
    }

    @Test func anIdleServerClosedForAnotherPoolIsNamedWithItsLoop() {
        var pools = PoolManager()
        let limits = PoolLimits(poolSize: 2, maxDatabaseConnections: 1)
        let other = PoolKey(database: poolA.database, user: "other")
        _ = pools.configure(poolA, limits: limits)
        _ = pools.configure(other, limits: limits)
        _ = pools.request(c(1), from: poolA, loop: 1)
        _ = pools.opened(s(1), in: poolA, loop: 1)
        #expect(pools.release(s(1), reusable: true, loop: 1) == [])
        #expect(pools.request(c(2), from: other, loop: 0) == [.open(other), .close(s(1), loop: 1)])
    }
}
