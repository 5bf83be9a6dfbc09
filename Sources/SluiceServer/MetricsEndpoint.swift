import PostgresWire
import SluiceCore
import SluiceIO

/// The optional HTTP listener of `metrics_listen`: `GET /metrics` answers in Prometheus'
/// text format with what every worker counted, the pools' gauges and the routing counters.
/// One request per connection (`Connection: close`); anything else gets 404 or 400.
final class MetricsEndpoint {
    unowned let worker: Worker
    private var listener: Listener?
    private var requests: [ObjectIdentifier: MetricsRequest] = [:]

    /// Serves on `fd`, a listening socket of `address`.
    init(worker: Worker, fd: Int32, address: String) throws {
        self.worker = worker
        listener = try Listener(fd: fd, address: address, loop: worker.loop, onAccept: { [unowned self] fd, _ in
            accept(fd)
        }, onError: { [unowned worker] error in
            worker.logger.error("metrics_listen accept failed: \(error)")
        })
    }

    /// Accepts no more requests; those already accepted are answered.
    func stopListening() {
        listener?.close()
        listener = nil
    }

    func stop() {
        stopListening()
        for request in requests.values { request.connection.close() }
        requests = [:]
    }

    private func accept(_ fd: Int32) {
        do {
            let request = MetricsRequest(connection: try Connection(fd: fd, loop: worker.loop), endpoint: self)
            requests[ObjectIdentifier(request)] = request
        } catch {
            Socket.close(fd)
        }
    }

    fileprivate func done(_ request: MetricsRequest) {
        requests[ObjectIdentifier(request)] = nil
    }

    /// The response body for `GET /metrics`, once every worker has reported.
    fileprivate func render(_ then: @escaping (String) -> Void) {
        let worker = worker
        worker.gather({ ($0.trafficSnapshot(), $0.statementCounts, $0.adminSnapshot()) }) { parts in
            let (totals, _, _) = TrafficSnapshot.merge(parts.map(\.0))
            let (pools, replicaSets) = worker.pooler.shared.withLock { ($0.pools.overview, $0.replicaSets) }
            then(Metrics.text(totals: totals, loginFailures: parts.reduce(0) { $0 + $1.0.loginFailures },
                              statements: parts.map(\.1), clients: AdminSnapshot(merging: parts.map(\.2)),
                              pools: pools, replicaSets: replicaSets))
        }
    }
}

/// One HTTP request on the metrics listener.
private final class MetricsRequest: ConnectionDelegate {
    let connection: Connection
    unowned let endpoint: MetricsEndpoint
    private var answered = false

    init(connection: Connection, endpoint: MetricsEndpoint) {
        self.connection = connection
        self.endpoint = endpoint
        connection.delegate = self
    }

    func connectionEstablished(_ connection: Connection) {}

    func connectionReadable(_ connection: Connection) {
        guard !answered, let input = connection.input else { return }
        let text = String(decoding: input.copyBytes(at: 0, count: input.readableCount), as: UTF8.self)
        guard let headerEnd = text.firstRange(of: "\r\n\r\n") else {
            if input.readableCount > 8192 { respond("400 Bad Request", "request too large\n") }
            return
        }
        answered = true
        let requestLine = text[..<headerEnd.lowerBound].split(separator: "\r\n").first ?? ""
        let parts = requestLine.split(separator: " ")
        guard parts.count == 3, parts[0] == "GET" else { return respond("400 Bad Request", "GET /metrics only\n") }
        guard parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") else { return respond("404 Not Found", "try /metrics\n") }
        endpoint.render { [weak self] body in self?.respond("200 OK", body, type: "text/plain; version=0.0.4; charset=utf-8") }
    }

    private func respond(_ status: String, _ body: String, type: String = "text/plain; charset=utf-8") {
        answered = true
        let bytes = Array(body.utf8)
        connection.send(Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n".utf8) + bytes)
        if !connection.hasPendingOutput { finish() }
    }

    func connectionDrained(_ connection: Connection) {
        if answered { finish() }
    }

    func connectionClosed(_ connection: Connection, reason: ConnectionCloseReason) {
        endpoint.done(self)
    }

    private func finish() {
        connection.close()
        endpoint.done(self)
    }
}

/// Prometheus' text exposition format of Sluice's figures.
enum Metrics {
    static func text(totals: [String: TrafficCounters], loginFailures: Int, statements: [PreparedStatementCounts],
                     clients: AdminSnapshot, pools: [PoolOverview], replicaSets: [String: ReplicaSet]) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels.isEmpty ? "" : "{\(labels)}") \(value)\n" }
        }
        func label(_ pairs: (String, String)...) -> String {
            pairs.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
        }
        let databases = totals.keys.sorted()
        func counter(_ name: String, _ help: String, _ value: (TrafficCounters) -> Int) {
            family(name, "counter", help, databases.map { (label(("database", $0)), String(value(totals[$0]!))) })
        }
        counter("sluice_transactions_total", "Transactions that ended, through Sluice.", \.transactions)
        counter("sluice_queries_total", "Queries (ReadyForQuery answers) through Sluice.", \.queries)
        counter("sluice_received_bytes_total", "Bytes received from clients and forwarded.", \.bytesReceived)
        counter("sluice_sent_bytes_total", "Bytes forwarded to clients.", \.bytesSent)
        counter("sluice_logins_total", "Client logins to the database.", \.logins)
        family("sluice_errors_total", "counter", "Errors sent to clients (PostgreSQL's and Sluice's own), by SQLSTATE class.",
               databases.flatMap { database in
                   totals[database]!.errorsByClass.sorted { $0.key < $1.key }.map { (label(("database", database), ("class", $0.key)), String($0.value)) }
               })
        family("sluice_login_failures_total", "counter", "Logins refused for a password, an unknown user or an auth_hba_file rule.",
               [("", String(loginFailures))])
        for (name, help, pick) in [("sluice_transaction_duration_seconds", "Time from a transaction's first request to its end.", \TrafficCounters.transactionTimes),
                                   ("sluice_wait_duration_seconds", "Time clients waited for a server.", \TrafficCounters.waitTimes)] {
            out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            for database in databases {
                let histogram = totals[database]![keyPath: pick]
                var cumulative = 0
                for (index, bound) in Histogram.bounds.enumerated() {
                    cumulative += histogram.counts[index]
                    out += "\(name)_bucket{\(label(("database", database), ("le", String(bound))))} \(cumulative)\n"
                }
                cumulative += histogram.counts[Histogram.bounds.count]
                out += "\(name)_bucket{\(label(("database", database), ("le", "+Inf")))} \(cumulative)\n"
                out += "\(name)_sum{\(label(("database", database)))} \(histogram.sum)\n"
                out += "\(name)_count{\(label(("database", database)))} \(cumulative)\n"
            }
        }
        let poolLabels = pools.map { label(("database", $0.key.database), ("user", $0.key.user), ("host", $0.key.host == 0 ? "primary" : "replica\($0.key.host)")) }
        func gauge(_ name: String, _ help: String, _ value: (Int) -> String) {
            family(name, "gauge", help, pools.indices.map { (poolLabels[$0], value($0)) })
        }
        let clientsByPool = Dictionary(grouping: clients.clients.filter { $0.poolKey != nil }, by: { $0.poolKey! })
        gauge("sluice_pool_clients_active", "Clients of the pool not waiting for a server.") { index in
            String((clientsByPool[pools[index].key] ?? []).filter { $0.state != "waiting" }.count)
        }
        gauge("sluice_pool_clients_waiting", "Clients waiting for a server of the pool.") { String(pools[$0].waiting) }
        gauge("sluice_pool_servers_active", "Servers of the pool linked to clients.") { String(pools[$0].active) }
        gauge("sluice_pool_servers_idle", "Idle servers of the pool.") { String(pools[$0].idle) }
        gauge("sluice_pool_servers_login", "Servers of the pool connecting or logging in.") { String(pools[$0].opening) }
        gauge("sluice_pool_max_wait_seconds", "How long the longest-waiting client of the pool has waited.") { index in
            String((clientsByPool[pools[index].key] ?? []).filter { $0.state == "waiting" }.map(\.stateSeconds).max() ?? 0)
        }
        let split = replicaSets.keys.sorted()
        family("sluice_routed_writes_total", "counter", "Transactions routed to the primary that may have written.",
               split.map { (label(("database", $0)), String(replicaSets[$0]!.writesRouted)) })
        family("sluice_reads_on_primary_total", "counter", "Reads that found no replica able to serve them.",
               split.map { (label(("database", $0)), String(replicaSets[$0]!.readsOnPrimary)) })
        var reads: [(String, String)] = []
        var bans: [(String, String)] = []
        var lag: [(String, String)] = []
        for database in split {
            let set = replicaSets[database]!
            for (index, replica) in set.replicas.enumerated() {
                let labels = label(("database", database), ("host", "replica\(index + 1)"))
                reads.append((labels, String(replica.readsRouted)))
                bans.append((labels, String(replica.bans)))
                if let bytes = set.lagBytes(host: index + 1) { lag.append((labels, String(bytes))) }
            }
        }
        family("sluice_routed_reads_total", "counter", "Reads routed to the replica.", reads)
        family("sluice_replica_bans_total", "counter", "Times the replica was banned.", bans)
        family("sluice_replica_lag_bytes", "gauge", "WAL the replica has yet to replay, as last polled.", lag)
        let prepared = statements.reduce(into: PreparedStatementCounts()) { sum, part in
            sum.prepares += part.prepares
            sum.hits += part.hits
            sum.reprepares += part.reprepares
            sum.evictions += part.evictions
            sum.staleRetries += part.staleRetries
        }
        family("sluice_prepared_statements_total", "counter", "Named statements: prepared, found prepared, prepared again on another server, evicted, retried after a stale plan.", [
            (label(("event", "prepared")), String(prepared.prepares)), (label(("event", "found")), String(prepared.hits)),
            (label(("event", "reprepared")), String(prepared.reprepares)), (label(("event", "evicted")), String(prepared.evictions)),
            (label(("event", "retried")), String(prepared.staleRetries)),
        ])
        return out
    }

    private static func escape(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }
}
