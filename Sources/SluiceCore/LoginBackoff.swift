import PostgresWire

/// When a pool tries opening servers again after a login failed, sans I/O.
///
/// A failure that says PostgreSQL is down for the moment (it could not be reached, or answered
/// that it is starting up or shutting down: a restart, a failover) is transient: the pool
/// tries again after 0.1 s, doubling the wait with each failure in a row up to
/// `server_login_retry`, and its waiting clients keep waiting (up to `query_wait_timeout`), so
/// the first transaction after PostgreSQL accepts logins again succeeds within about a second.
/// Any other failure (a wrong password, a database that does not exist, a certificate that
/// does not verify) waits the whole `server_login_retry`, and the waiting clients are told at
/// once. A login that succeeds starts the count over.
public struct LoginBackoff: Sendable {
    public static let firstDelay = 0.1

    /// The next wait of each pool whose logins are failing transiently.
    private var delays: [PoolKey: Double] = [:]
    /// The last login error of each pool whose logins are failing.
    private var errors: [PoolKey: ErrorFields] = [:]

    public init() {}

    /// SQLSTATEs with which PostgreSQL refuses a login while it restarts: 57P01 and 57P02
    /// (shutting down), 57P03 (starting up, or not accepting connections yet).
    public static func isTransient(_ error: ErrorFields, unreachable: Bool) -> Bool {
        unreachable || ["57P01", "57P02", "57P03"].contains(error.code)
    }

    /// A login to `key`'s server failed; returns how long to wait before opening again.
    /// `unreachable`: the server could not be connected to at all (refused, reset, timed out).
    public mutating func failed(_ key: PoolKey, error: ErrorFields, unreachable: Bool, cap: Double) -> Double {
        errors[key] = error
        guard Self.isTransient(error, unreachable: unreachable) else {
            delays[key] = nil
            return cap
        }
        let delay = min(delays[key] ?? Self.firstDelay, cap)
        delays[key] = min(delay * 2, cap)
        return delay
    }

    /// A server of `key` logged in.
    public mutating func succeeded(_ key: PoolKey) {
        guard !errors.isEmpty else { return }
        delays[key] = nil
        errors[key] = nil
    }

    /// What the last failed login to `key` said, while its logins are failing.
    public func lastError(of key: PoolKey) -> ErrorFields? { errors[key] }
}
