import SluiceConfig

/// What Sluice knows of one database's replicas, from polling them and its primary, and which
/// of them a read may use: healthy, not banned, not too far behind, and, when the client must
/// read its own writes, having replayed them.
///
/// Positions in the WAL are LSNs as numbers (`LSN.parse`). Hosts are numbered as in `PoolKey`:
/// 0 the primary, 1... the replicas.
public struct ReplicaSet: Sendable {
    public struct Replica: Sendable, Equatable {
        /// How far it has replayed, from its last successful poll; nil before one.
        public var replayed: UInt64?
        /// Seconds since the last transaction it replayed, when it is behind the primary.
        public var secondsBehind: Double = 0
        /// Until when it gets no reads (monotonic seconds).
        public var bannedUntil: Double = 0
        /// Transactions Sluice has running on it now.
        public var outstanding = 0
        public var readsRouted = 0
        public var bans = 0
    }

    /// What a read should do.
    public enum Choice: Sendable, Equatable {
        case replica(host: Int)
        /// A healthy replica exists but none has replayed far enough yet: ask again soon.
        case wait
        /// No replica can serve: use the primary.
        case primary
    }

    public private(set) var replicas: [Replica]
    /// The primary's current WAL position, from its last poll.
    public private(set) var primaryPosition: UInt64?
    /// The database's last write whose position Sluice learnt (for read_your_writes = global).
    public private(set) var lastWrite: UInt64 = 0
    /// Transactions that may have written, whose position Sluice learnt on the primary.
    public private(set) var writesRouted = 0
    /// Reads that found no replica able to serve them and ran on the primary.
    public private(set) var readsOnPrimary = 0
    private var nextRoundRobin = 0

    public init(replicaCount: Int) {
        replicas = Array(repeating: Replica(), count: replicaCount)
    }

    /// Whether a replica may take reads, and if not, why.
    public enum Condition: String, Sendable {
        /// Polled, not banned, within `max_replica_lag`.
        case ready
        /// Refused a connection, failed or was promoted, and has not been polled since.
        case banned
        /// Not polled successfully yet.
        case unpolled
        /// Further behind than `max_replica_lag`.
        case lagging
    }

    /// The condition of replica `host` at `now`.
    public func condition(host: Int, now: Double, lagLimit: ReplicaLagLimit) -> Condition {
        let replica = replicas[host - 1]
        if replica.bannedUntil > now { return .banned }
        if replica.replayed == nil { return .unpolled }
        return isTooFarBehind(replica, lagLimit) ? .lagging : .ready
    }

    /// The host for a read that must see `position` (0: nothing in particular), at `now`.
    public mutating func choose(seeing position: UInt64, now: Double, lagLimit: ReplicaLagLimit, roundRobin: Bool) -> Choice {
        var usable: [Int] = []
        var caughtUp: [Int] = []
        for index in replicas.indices where condition(host: index + 1, now: now, lagLimit: lagLimit) == .ready {
            usable.append(index)
            if let replayed = replicas[index].replayed, replayed >= position { caughtUp.append(index) }
        }
        guard !caughtUp.isEmpty else {
            if usable.isEmpty { readsOnPrimary += 1 }
            return usable.isEmpty ? .primary : .wait
        }
        let chosen: Int
        if roundRobin {
            chosen = caughtUp[nextRoundRobin % caughtUp.count]
            nextRoundRobin &+= 1
        } else {
            chosen = caughtUp.min { replicas[$0].outstanding < replicas[$1].outstanding } ?? caughtUp[0]
        }
        replicas[chosen].outstanding += 1
        replicas[chosen].readsRouted += 1
        return .replica(host: chosen + 1)
    }

    /// A transaction `choose` sent to `host` has ended.
    public mutating func finished(host: Int) {
        guard host > 0, host <= replicas.count else { return }
        replicas[host - 1].outstanding = max(0, replicas[host - 1].outstanding - 1)
    }

    private func isTooFarBehind(_ replica: Replica, _ limit: ReplicaLagLimit) -> Bool {
        switch limit {
        case .none: return false
        case .bytes(let bytes):
            guard let primaryPosition, let replayed = replica.replayed, primaryPosition > replayed else { return false }
            return primaryPosition - replayed > bytes
        case .seconds(let seconds):
            return replica.secondsBehind > seconds
        }
    }

    /// A poll of the primary answered with its current WAL position.
    public mutating func primaryPolled(position: UInt64) {
        primaryPosition = max(primaryPosition ?? 0, position)
    }

    /// A poll of replica `host` answered. `inRecovery` false means it was promoted: it is no
    /// replica any more and gets no reads. A replica in recovery that answers is healthy again:
    /// its ban, if any, ends here, so a replica that came back gets reads from its first good
    /// poll (still subject to `max_replica_lag`), not only once replica_ban_time has passed.
    public mutating func replicaPolled(host: Int, replayed: UInt64, secondsSinceReplay: Double?, inRecovery: Bool,
                                       now: Double, banTime: Double) {
        guard host > 0, host <= replicas.count else { return }
        guard inRecovery else { return ban(host: host, now: now, banTime: banTime) }
        replicas[host - 1].bannedUntil = 0
        replicas[host - 1].replayed = replayed
        let behind = primaryPosition.map { replayed < $0 } ?? false
        replicas[host - 1].secondsBehind = behind ? (secondsSinceReplay ?? 0) : 0
    }

    /// Replica `host` refused a connection or failed: no reads for `banTime`.
    public mutating func ban(host: Int, now: Double, banTime: Double) {
        guard host > 0, host <= replicas.count else { return }
        if replicas[host - 1].bannedUntil <= now { replicas[host - 1].bans += 1 }
        replicas[host - 1].bannedUntil = now + banTime
        replicas[host - 1].replayed = nil
    }

    /// A write committed on the primary at `position`.
    public mutating func wrote(at position: UInt64) {
        lastWrite = max(lastWrite, position)
        writesRouted += 1
    }

    /// Bytes of WAL replica `host` has yet to replay, as of the last polls; nil when unknown.
    public func lagBytes(host: Int) -> UInt64? {
        guard host > 0, host <= replicas.count, let primaryPosition, let replayed = replicas[host - 1].replayed else { return nil }
        return primaryPosition > replayed ? primaryPosition - replayed : 0
    }

    /// One line for the log: what went where.
    public var summary: String {
        var parts = ["\(writesRouted) writes and \(readsOnPrimary) reads on the primary"]
        for (index, replica) in replicas.enumerated() {
            let lag = lagBytes(host: index + 1).map { "\($0) bytes behind" } ?? "position unknown"
            parts.append("replica\(index + 1): \(replica.readsRouted) reads, \(replica.bans) bans, \(lag)")
        }
        return parts.joined(separator: "; ")
    }
}

/// Log sequence numbers as PostgreSQL prints them (`16/B374D848`).
public enum LSN {
    public static func parse(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16),
              high <= UInt64(UInt32.max), low <= UInt64(UInt32.max) else { return nil }
        return high << 32 | low
    }
}
