import Testing
import PostgresWire
@testable import SluiceCore

/// LoginBackoff: how soon a pool whose logins fail tries again.
@Suite struct LoginBackoffTests {
    private let key = PoolKey(database: "db", user: "app")
    private let refused = ErrorFields(code: "08006", message: "server connection failed: connection refused")

    @Test func unreachableServerIsRetriedFromATenthOfASecondDoublingToTheCap() {
        var backoff = LoginBackoff()
        let delays = (0..<9).map { _ in backoff.failed(key, error: refused, unreachable: true, cap: 15) }
        #expect(delays == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 15])
        #expect(backoff.lastError(of: key) == refused)
    }

    @Test(arguments: ["57P01", "57P02", "57P03"])
    func startingOrStoppingPostgresIsTransient(code: String) {
        var backoff = LoginBackoff()
        let error = ErrorFields(code: code, message: "the database system is starting up")
        #expect(LoginBackoff.isTransient(error, unreachable: false))
        #expect(backoff.failed(key, error: error, unreachable: false, cap: 15) == 0.1)
    }

    @Test(arguments: ["28P01", "3D000", "08P01", "28000"])
    func otherFailuresWaitServerLoginRetry(code: String) {
        var backoff = LoginBackoff()
        let error = ErrorFields(code: code, message: "no")
        #expect(!LoginBackoff.isTransient(error, unreachable: false))
        #expect(backoff.failed(key, error: error, unreachable: false, cap: 15) == 15)
        #expect(backoff.lastError(of: key) == error)
    }

    @Test func aSuccessStartsOver() {
        var backoff = LoginBackoff()
        _ = backoff.failed(key, error: refused, unreachable: true, cap: 15)
        _ = backoff.failed(key, error: refused, unreachable: true, cap: 15)
        backoff.succeeded(key)
        #expect(backoff.lastError(of: key) == nil)
        #expect(backoff.failed(key, error: refused, unreachable: true, cap: 15) == 0.1)
    }

    @Test func poolsCountApart() {
        var backoff = LoginBackoff()
        let other = PoolKey(database: "db", user: "other")
        _ = backoff.failed(key, error: refused, unreachable: true, cap: 15)
        #expect(backoff.failed(other, error: refused, unreachable: true, cap: 15) == 0.1)
        #expect(backoff.lastError(of: PoolKey(database: "db", user: "third")) == nil)
    }

    @Test func aCapBelowTheFirstDelayWins() {
        var backoff = LoginBackoff()
        #expect(backoff.failed(key, error: refused, unreachable: true, cap: 0.05) == 0.05)
    }
}
