/// What one database's clients did on one worker, counted as it happens: the figures of the
/// admin console's SHOW STATS and of /metrics. A class, so a client holds its database's
/// counters and counting costs no lookup; only its worker's thread touches it.
final class TrafficCounters {
    var transactions = 0
    var queries = 0
    var bytesReceived = 0
    var bytesSent = 0
    /// Microseconds, as PgBouncer reports them.
    var transactionMicroseconds = 0
    var queryMicroseconds = 0
    var waitMicroseconds = 0
    var logins = 0
    /// Errors clients were sent, PostgreSQL's and Sluice's own, by SQLSTATE class ("23", "57").
    var errorsByClass: [String: Int] = [:]
    /// How long transactions took and clients waited for a server, by bucket.
    var transactionTimes = Histogram()
    var waitTimes = Histogram()

    init() {}

    /// The sum of several workers' counters.
    init(adding parts: [TrafficCounters]) {
        for part in parts { accumulate(part, sign: 1) }
    }

    func copy() -> TrafficCounters { TrafficCounters(adding: [self]) }

    /// What was counted since `earlier` (histograms aside).
    func since(_ earlier: TrafficCounters?) -> TrafficCounters {
        let delta = copy()
        if let earlier { delta.accumulate(earlier, sign: -1) }
        return delta
    }

    /// Adds (`sign` 1) or takes away (-1) `other`'s counts; histograms are only ever added.
    private func accumulate(_ other: TrafficCounters, sign: Int) {
        transactions += sign * other.transactions
        queries += sign * other.queries
        bytesReceived += sign * other.bytesReceived
        bytesSent += sign * other.bytesSent
        transactionMicroseconds += sign * other.transactionMicroseconds
        queryMicroseconds += sign * other.queryMicroseconds
        waitMicroseconds += sign * other.waitMicroseconds
        logins += sign * other.logins
        for (errorClass, count) in other.errorsByClass { errorsByClass[errorClass, default: 0] += sign * count }
        if sign > 0 {
            transactionTimes.add(other.transactionTimes)
            waitTimes.add(other.waitTimes)
        }
    }

    func transactionEnded(seconds: Double) {
        transactions += 1
        transactionMicroseconds += Int(seconds * 1_000_000)
        transactionTimes.observe(seconds)
    }

    func waited(seconds: Double) {
        waitMicroseconds += Int(seconds * 1_000_000)
        waitTimes.observe(seconds)
    }

    /// An ErrorResponse with this SQLSTATE went to a client.
    func errorSent(code: String) {
        errorsByClass[String(code.prefix(2)), default: 0] += 1
    }
}

/// A Prometheus histogram with fixed buckets (seconds).
struct Histogram {
    static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Observations at or below each bound (not cumulative; `Metrics` adds them up).
    private(set) var counts = [Int](repeating: 0, count: Histogram.bounds.count + 1)
    private(set) var sum = 0.0

    mutating func observe(_ value: Double) {
        var index = 0
        while index < Self.bounds.count && value > Self.bounds[index] { index += 1 }
        counts[index] += 1
        sum += value
    }

    mutating func add(_ other: Histogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        sum += other.sum
    }
}
