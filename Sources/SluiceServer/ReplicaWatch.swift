import PostgresWire
import SluiceCore
import SluiceIO

/// Keeps one connection of its own to a database's primary and to each of its replicas, and
/// polls them every replica_poll_interval: the primary for its WAL position, each replica for
/// how far it has replayed and whether it is still in recovery. The answers go to the
/// database's `ReplicaSet` in the shared state, where routing reads them. A replica that
/// cannot be reached or fails is banned, and probed again soon: after replica_poll_interval
/// (at least 0.1 s), the wait doubling with each failure in a row up to replica_ban_time; its
/// first good answer lifts the ban.
///
/// Lives on the first worker; its connections log in as the pool's user, like pool servers.
final class ReplicaWatch {
    let key: PoolKey
    unowned let worker: Worker
    /// By host: 0 the primary, 1... the replicas.
    private var connections: [Int: ServerConnection] = [:]
    /// When a lost connection may be opened again, by host.
    private var retryAt: [Int: Double] = [:]
    /// The wait before the next attempt to open a replica's connection, by host, while its
    /// attempts fail.
    private var retryDelay: [Int: Double] = [:]
    private var timer: TimerID?
    private let hostCount: Int

    static let primaryQuery = "SELECT pg_current_wal_insert_lsn()"
    static let replicaQuery = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(), "
        + "extract(epoch FROM now() - pg_last_xact_replay_timestamp())"

    init(key: PoolKey, replicaCount: Int, worker: Worker) {
        self.key = key
        self.hostCount = replicaCount + 1
        self.worker = worker
    }

    func start() { tick() }

    func stop() {
        if let timer { worker.loop.cancel(timer) }
        timer = nil
        for connection in connections.values {
            connection.watcher = nil
            connection.close()
        }
        connections = [:]
    }

    /// Opens what is missing and polls what is idle, then waits for the next round.
    private func tick() {
        let now = MonotonicClock.now()
        for host in 0..<hostCount {
            guard let connection = connections[host] else {
                if retryAt[host, default: 0] <= now { open(host) }
                continue
            }
            if connection.isIdle { poll(host, connection) }
        }
        timer = worker.loop.schedule(after: worker.configuration.settings.replicaPollInterval) { [weak self] in self?.tick() }
    }

    private func open(_ host: Int) {
        guard let entry = worker.configuration.database(named: key.database), entry.splitsReadsAndWrites else { return }
        let address = entry.address(ofHost: host)
        let server = ServerConnection(id: worker.newServerID(), poolKey: key.onHost(host), host: address.host ?? "/tmp",
                                      port: address.port, worker: worker)
        server.watcher = self
        connections[host] = server
        worker.logIn(server, to: entry)
    }

    private func poll(_ host: Int, _ server: ServerConnection) {
        var row: [String?] = []
        server.runInternal(host == 0 ? Self.primaryQuery : Self.replicaQuery, rows: { row = $0 }) { [weak self, unowned server] error in
            guard let self, !server.state.isClosed else { return }
            if let error {
                // A primary that is in recovery, or a replica asked what only a primary answers.
                worker.logger.warning("\(server.label) watch query failed: \(error.message)")
                lose(host, server)
                return
            }
            record(host, row)
        }
    }

    private func record(_ host: Int, _ row: [String?]) {
        let settings = worker.configuration.settings
        let now = MonotonicClock.now()
        worker.pooler.shared.withLock { shared in
            if host == 0 {
                if let text = row.first ?? nil, let position = LSN.parse(text) {
                    shared.replicaSets[key.database]?.primaryPolled(position: position)
                }
                return
            }
            let inRecovery = row.first == "t"
            let replayed = row.count > 1 ? row[1].flatMap(LSN.parse) : nil
            let seconds = row.count > 2 ? row[2].flatMap(Double.init) : nil
            guard let replayed else {
                shared.replicaSets[key.database]?.ban(host: host, now: now, banTime: settings.replicaBanTime)
                return
            }
            shared.replicaSets[key.database]?.replicaPolled(host: host, replayed: replayed, secondsSinceReplay: seconds,
                                                            inRecovery: inRecovery, now: now, banTime: settings.replicaBanTime)
        }
    }

    private func lose(_ host: Int, _ server: ServerConnection) {
        server.watcher = nil
        server.close()
        serverGone(host, server)
    }

    private func serverGone(_ host: Int, _ server: ServerConnection) {
        guard connections[host] === server else { return }
        connections[host] = nil
        let banTime = worker.configuration.settings.replicaBanTime
        let now = MonotonicClock.now()
        let settings = worker.configuration.settings
        if host == 0 {
            retryAt[host] = now + settings.serverLoginRetry
        } else {
            let delay = retryDelay[host] ?? max(settings.replicaPollInterval, 0.1)
            retryAt[host] = now + delay
            retryDelay[host] = min(delay * 2, max(delay, banTime))
        }
        guard host > 0 else { return }
        worker.logger.warning("\(server.label) replica banned for \(banTime) s")
        worker.pooler.shared.withLock { $0.replicaSets[key.database]?.ban(host: host, now: now, banTime: banTime) }
    }

    /// A watch connection logged in.
    func serverReady(_ server: ServerConnection) {
        worker.logger.debug("\(server.label) watching")
        retryDelay[server.poolKey.host] = nil
    }

    /// A watch connection failed to log in or closed.
    func serverLost(_ server: ServerConnection) {
        serverGone(server.poolKey.host, server)
    }
}
