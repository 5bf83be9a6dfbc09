import Testing
@testable import SluiceCore

/// max_db_connections and max_user_connections, shared between pools; and configure() on reload.
@Suite struct PoolManagerLimitsTests {
    // Same database, different users.
    private let dbAlice = PoolKey(database: "shop", user: "alice")
    private let dbBob = PoolKey(database: "shop", user: "bob")
    // Same user, different databases.
    private let userShop = PoolKey(database: "shop", user: "carol")
    private let userBlog = PoolKey(database: "blog", user: "carol")

    @Test func maxDatabaseConnectionsIsSharedAcrossUsers() {
        var pools = PoolManager()
        let limits = PoolLimits(poolSize: 5, maxDatabaseConnections: 1)
        _ = pools.configure(dbAlice, limits: limits)
        _ = pools.configure(dbBob, limits: limits)
        #expect(pools.request(c(1), from: dbAlice) == [.open(dbAlice)])
        #expect(pools.request(c(2), from: dbBob) == [])          // A holds the whole budget (opening)
        #expect(pools.opened(s(1), in: dbAlice) == [.assign(s(1), to: c(1))])
        #expect(pools.request(c(3), from: dbAlice) == [])        // A's own pool is capped by the budget too
        // A's server goes to A's waiter first.
        #expect(pools.release(s(1), reusable: true) == [.assign(s(1), to: c(3))])
        #expect(pools.waitingClients(in: dbBob) == [c(2)])
        // Released idle while B waits: A's idle server is closed to make room for B.
        #expect(pools.release(s(1), reusable: true) == [.open(dbBob), .close(s(1))])
        #expect(pools.serverCount(in: dbAlice) == 0)
        #expect(pools.serverCount(in: dbBob) == 1)
        #expect(pools.opened(s(2), in: dbBob) == [.assign(s(2), to: c(2))])
    }

    @Test func maxUserConnectionsIsSharedAcrossDatabases() {
        var pools = PoolManager()
        let limits = PoolLimits(poolSize: 5, maxUserConnections: 2)
        _ = pools.configure(userShop, limits: limits)
        _ = pools.configure(userBlog, limits: limits)
        #expect(pools.request(c(1), from: userShop) == [.open(userShop)])
        #expect(pools.request(c(2), from: userShop) == [.open(userShop)])
        #expect(pools.request(c(3), from: userBlog) == [])
        #expect(pools.opened(s(1), in: userShop) == [.assign(s(1), to: c(1))])
        #expect(pools.opened(s(2), in: userShop) == [.assign(s(2), to: c(2))])
        #expect(pools.release(s(1), reusable: true) == [.open(userBlog), .close(s(1))])
        #expect(pools.serverCount(in: userShop) == 1)
        #expect(pools.serverCount(in: userBlog) == 1)
    }

    @Test func idleServerOfAnotherPoolIsClosedOnRequest() {
        var pools = PoolManager()
        let limits = PoolLimits(poolSize: 5, maxDatabaseConnections: 1)
        _ = pools.configure(dbAlice, limits: limits)
        _ = pools.configure(dbBob, limits: limits)
        _ = pools.request(c(1), from: dbAlice)
        _ = pools.opened(s(1), in: dbAlice)
        #expect(pools.release(s(1), reusable: true) == [])
        #expect(pools.request(c(2), from: dbBob) == [.open(dbBob), .close(s(1))])
        #expect(pools.idleServers(in: dbAlice) == [])
    }

    @Test func failedOpenFreesTheBudgetForAnotherPool() {
        var pools = PoolManager()
        let limits = PoolLimits(poolSize: 5, maxDatabaseConnections: 1)
        _ = pools.configure(dbAlice, limits: limits)
        _ = pools.configure(dbBob, limits: limits)
        #expect(pools.request(c(1), from: dbAlice) == [.open(dbAlice)])
        #expect(pools.request(c(2), from: dbBob) == [])
        let (actions, abandoned) = pools.openFailed(in: dbAlice)
        #expect(abandoned == [c(1)])
        #expect(actions == [.open(dbBob)])
    }

    @Test func brokenServerFreesTheBudgetForAnotherPool() {
        var pools = PoolManager()
        let limits = PoolLimits(poolSize: 5, maxUserConnections: 1)
        _ = pools.configure(userShop, limits: limits)
        _ = pools.configure(userBlog, limits: limits)
        _ = pools.request(c(1), from: userShop)
        _ = pools.opened(s(1), in: userShop)
        #expect(pools.request(c(2), from: userBlog) == [])
        #expect(pools.release(s(1), reusable: false) == [.open(userBlog), .close(s(1))])
    }

    @Test func idleServerThatWouldNotHelpIsKept() {
        // carol's user budget is full in "shop"; bob's idle server in "blog" shares the database
        // with the waiting pool but not the user, so closing it would not help.
        var pools = PoolManager()
        let waiting = PoolKey(database: "blog", user: "carol")
        let bystander = PoolKey(database: "blog", user: "bob")
        _ = pools.configure(userShop, limits: PoolLimits(poolSize: 5, maxUserConnections: 1))
        _ = pools.configure(waiting, limits: PoolLimits(poolSize: 5, maxUserConnections: 1))
        _ = pools.configure(bystander, limits: PoolLimits(poolSize: 5))
        _ = pools.request(c(1), from: userShop)
        _ = pools.opened(s(1), in: userShop)
        _ = pools.request(c(2), from: bystander)
        _ = pools.opened(s(2), in: bystander)
        #expect(pools.release(s(2), reusable: true) == [])
        #expect(pools.request(c(3), from: waiting) == [])
        #expect(pools.idleServers(in: bystander) == [s(2)])
        // When carol's server in "shop" is released, it is the one closed.
        #expect(pools.release(s(1), reusable: true) == [.open(waiting), .close(s(1))])
        #expect(pools.idleServers(in: bystander) == [s(2)])
    }

    /// shop's budget is held by bob, carol's by her pool in blog; carol's pool in shop needs both.
    private func bothBudgetsHeld(releaseUserHolder: Bool) -> (PoolManager, waiting: PoolKey) {
        var pools = PoolManager()
        let limits = PoolLimits(poolSize: 5, maxDatabaseConnections: 1, maxUserConnections: 1)
        for key in [dbBob, userBlog, userShop] { _ = pools.configure(key, limits: limits) }
        _ = pools.request(c(1), from: dbBob)
        _ = pools.opened(s(1), in: dbBob)
        _ = pools.release(s(1), reusable: true)
        _ = pools.request(c(2), from: userBlog)
        _ = pools.opened(s(2), in: userBlog)
        if releaseUserHolder { _ = pools.release(s(2), reusable: true) }
        return (pools, userShop)
    }

    @Test func bothBudgetsFullClosesOneIdleServerOfEach() {
        var (pools, waiting) = bothBudgetsHeld(releaseUserHolder: true)
        #expect(pools.request(c(3), from: waiting) == [.open(waiting), .close(s(2)), .close(s(1))])
        #expect(pools.serverCount(in: dbBob) == 0)
        #expect(pools.serverCount(in: userBlog) == 0)
        #expect(pools.serverCount(in: waiting) == 1)
    }

    @Test func bothBudgetsFullButOnlyOneCanBeFreed() {
        var (pools, waiting) = bothBudgetsHeld(releaseUserHolder: false)
        // Closing bob's idle server would not let carol in: keep it.
        #expect(pools.request(c(3), from: waiting) == [])
        #expect(pools.idleServers(in: dbBob) == [s(1)])
        // Once carol's other server is idle, both go.
        #expect(pools.release(s(2), reusable: true) == [.open(waiting), .close(s(2)), .close(s(1))])
    }

    @Test func unrelatedPoolsDoNotShareBudgets() {
        var pools = PoolManager()
        let other = PoolKey(database: "blog", user: "bob")
        _ = pools.configure(dbAlice, limits: PoolLimits(poolSize: 5, maxDatabaseConnections: 1, maxUserConnections: 1))
        _ = pools.configure(other, limits: PoolLimits(poolSize: 5, maxDatabaseConnections: 1, maxUserConnections: 1))
        #expect(pools.request(c(1), from: dbAlice) == [.open(dbAlice)])
        #expect(pools.request(c(2), from: other) == [.open(other)])
    }

    @Test func configureLargerOpensForWaiters() {
        var pools = PoolManager()
        _ = pools.configure(poolA, limits: PoolLimits(poolSize: 1))
        _ = pools.request(c(1), from: poolA)
        _ = pools.opened(s(1), in: poolA)
        _ = pools.request(c(2), from: poolA)
        _ = pools.request(c(3), from: poolA)
        _ = pools.request(c(4), from: poolA)
        #expect(pools.configure(poolA, limits: PoolLimits(poolSize: 3)) == [.open(poolA), .open(poolA)])
        #expect(pools.limits(of: poolA) == PoolLimits(poolSize: 3))
        #expect(pools.serverCount(in: poolA) == 3)
        #expect(pools.opened(s(2), in: poolA) == [.assign(s(2), to: c(2))])
    }

    @Test func configureSmallerClosesSurplusOnRelease() {
        var pools = PoolManager()
        _ = pools.configure(poolA, limits: PoolLimits(poolSize: 3))
        for n in UInt64(1)...3 { _ = pools.request(c(n), from: poolA) }
        for n in UInt64(1)...3 { #expect(pools.opened(s(n), in: poolA) == [.assign(s(n), to: c(n))]) }
        _ = pools.request(c(4), from: poolA)
        #expect(pools.configure(poolA, limits: PoolLimits(poolSize: 1)) == [])
        #expect(pools.release(s(1), reusable: true) == [.close(s(1))])
        #expect(pools.release(s(2), reusable: true) == [.close(s(2))])
        // At the new size: the last server serves the waiter, then stays.
        #expect(pools.release(s(3), reusable: true) == [.assign(s(3), to: c(4))])
        #expect(pools.release(s(3), reusable: true) == [])
        #expect(pools.serverCount(in: poolA) == 1)
    }

    @Test func configureRaisingSharedLimitOpensForWaiters() {
        var pools = PoolManager()
        _ = pools.configure(dbAlice, limits: PoolLimits(poolSize: 5, maxDatabaseConnections: 1))
        _ = pools.request(c(1), from: dbAlice)
        _ = pools.request(c(2), from: dbAlice)
        #expect(pools.serverCount(in: dbAlice) == 1)
        #expect(pools.configure(dbAlice, limits: PoolLimits(poolSize: 5, maxDatabaseConnections: 2)) == [.open(dbAlice)])
    }
}
