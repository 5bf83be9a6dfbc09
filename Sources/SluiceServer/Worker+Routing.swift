import PostgresWire
import SluiceConfig
import SluiceCore
import SluiceIO

/// Read/write splitting: each transaction of a client of a database with replicas is routed
/// when it starts, from its first message, and never moves. Reads go to a replica that is
/// healthy, close enough and (read_your_writes) has replayed the client's last write, else to
/// the primary; everything else goes to the primary. After a write, the primary's WAL position
/// is read on the same server connection before it returns to the pool.
extension Worker {
    /// A client of a read/write-split database logged in: its routing, the pools of the
    /// replicas, and the watch of the database's servers.
    func setUpSplit(_ client: ClientConnection, entry: DatabaseEntry, key: PoolKey, limits: PoolLimits) {
        client.split = SplitRouting(database: key.database, replicasOnly: entry.replicasOnly, readYourWrites: entry.readYourWrites)
        prepareSplit(of: key, entry: entry, limits: limits)
    }

    /// After a reload changed how `database`'s servers are reached (its replicas, say): what
    /// was known of the old ones is forgotten and their watch stopped, and a new watch starts
    /// on the hosts as configured now, so that no read goes to a replica before it was polled
    /// there. Until then reads use the primary. Runs on the first worker.
    func restartSplit(of database: String) {
        replicaWatches.removeValue(forKey: database)?.stop()
        let keys = pooler.shared.withLock { shared in
            shared.replicaSets[database] = nil
            return shared.pools.keys.filter { $0.database == database && $0.host == 0 }
        }
        guard let entry = configuration.database(named: database), entry.splitsReadsAndWrites else { return }
        for key in keys { prepareSplit(of: key, entry: entry, limits: limits(for: entry, user: key.user)) }
    }

    /// The replicas' pools of `key`, and the database's `ReplicaSet` and watch if it has none.
    private func prepareSplit(of key: PoolKey, entry: DatabaseEntry, limits: PoolLimits) {
        let replicaCount = entry.replicas.count
        let (actions, isNew) = pooler.shared.withLock { shared in
            var actions: [PoolManager.Action] = []
            for host in 1...replicaCount { actions += shared.pools.configure(key.onHost(host), limits: limits) }
            guard shared.replicaSets[key.database] == nil else { return (actions, false) }
            shared.replicaSets[key.database] = ReplicaSet(replicaCount: replicaCount)
            return (actions, true)
        }
        perform(actions)
        if isNew { startWatch(key, replicaCount: replicaCount) }
    }

    /// Starts the replica watch of `key`'s database, as `key`'s user, on the first worker.
    private func startWatch(_ key: PoolKey, replicaCount: Int) {
        onWorker(0) { worker in
            let watch = ReplicaWatch(key: key, replicaCount: replicaCount, worker: worker)
            worker.replicaWatches[key.database] = watch
            watch.start()
        }
    }

    /// At start: the watch of every database with replicas whose servers Sluice can log in to
    /// before a client came, so that reads use the replicas from the first transaction. It
    /// logs in as the entry's forced `user=`, else as the first userlist user with a password
    /// or md5 hash. A database with neither (a userlist of SCRAM verifiers, which need a
    /// client's proof) starts its watch at its first login, as that client's user.
    func startReplicaWatches() {
        for entry in configuration.databases.values where entry.splitsReadsAndWrites {
            guard let user = entry.user ?? watchUser() else { continue }
            let isNew = pooler.shared.withLock { shared in
                guard shared.replicaSets[entry.name] == nil else { return false }
                shared.replicaSets[entry.name] = ReplicaSet(replicaCount: entry.replicas.count)
                return true
            }
            if isNew { startWatch(PoolKey(database: entry.name, user: user), replicaCount: entry.replicas.count) }
        }
    }

    /// The userlist user a watch can log in as without a client's SCRAM proof.
    private func watchUser() -> String? {
        configuration.userSecrets.sorted { $0.key < $1.key }.first { entry in
            switch entry.value {
            case .plaintext, .md5: true
            case .scramSHA256: false
            }
        }?.key
    }

    /// A client between transactions sent something: routes its transaction and asks for a
    /// server. False while the first message is not all there yet (keep reading).
    func startTransaction(for client: ClientConnection) -> Bool {
        guard let split = client.split, let input = client.connection.input else {
            requestServer(for: client)
            return true
        }
        var route = Route.replica
        if !split.replicasOnly {
            switch Self.firstStatement(of: client, in: input) {
            case .incomplete(let size):
                client.connection.enlargeInput(toHold: size)
                return false
            case .text(let text): route = classifier.route(text)
            case .unknown: route = .primary
            }
        }
        split.mayWrite = route == .primary
        split.host = 0
        if route == .replica {
            // Until the client's last write position is known, no replica is known to have it.
            switch split.learningWritePosition ? .wait : chooseReplica(split) {
            case .replica(let host):
                split.host = host
                split.countsAsOutstanding = true
            case .primary:
                break
            case .wait:
                let now = MonotonicClock.now()
                let deadline = split.catchUpDeadline ?? now + configuration.settings.replicaWaitTimeout
                if now < deadline {
                    split.catchUpDeadline = deadline
                    client.connection.pauseReading()
                    let clientID = client.id
                    loop.schedule(after: configuration.settings.replicaPollInterval) { [unowned self] in
                        guard let client = clients[clientID] else { return }
                        routeAgain(client)
                    }
                    return true
                }
            }
        }
        split.catchUpDeadline = nil
        requestServer(for: client)
        return true
    }

    private func chooseReplica(_ split: SplitRouting) -> ReplicaSet.Choice {
        let settings = configuration.settings
        let now = MonotonicClock.now()
        return pooler.shared.withLock { shared in
            guard var set = shared.replicaSets[split.database] else { return .primary }
            let seeing: UInt64 = switch split.readYourWrites {
            case .off: 0
            case .client: split.mustSee
            case .global: max(split.mustSee, set.lastWrite)
            }
            let choice = set.choose(seeing: seeing, now: now, lagLimit: settings.maxReplicaLag, roundRobin: settings.replicaBalance == .roundRobin)
            shared.replicaSets[split.database] = set
            return choice
        }
    }

    /// The client's transaction ended and its server is unlinked. True when this takes care of
    /// giving the server back: after a transaction that may have written, once it has read the
    /// primary's WAL position on it.
    func finishSplitTransaction(_ client: ClientConnection, _ server: ServerConnection) -> Bool {
        guard let split = client.split else { return false }
        releaseReplicaPlace(split)
        guard split.host == 0, split.mayWrite, split.readYourWrites != .off else { return false }
        split.learningWritePosition = true
        let database = split.database
        var position: UInt64?
        // The insert position, not the write position: with synchronous_commit off the commit
        // record may not be written yet, and only the insert position is surely past it.
        let clientID = client.id
        server.runInternal("SELECT pg_current_wal_insert_lsn()", rows: { row in position = (row.first ?? nil).flatMap(LSN.parse) }) {
            [unowned self, unowned server] error in
            if let position { pooler.shared.withLock { $0.replicaSets[database]?.wrote(at: position) } }
            if let client = clients[clientID], let split = client.split {
                split.learningWritePosition = false
                if let position { split.mustSee = max(split.mustSee, position) }
                routeAgain(client)
            }
            guard !server.state.isClosed else { return }
            pools { $0.release(server.id, reusable: error == nil && server.transactionStatus == .idle && !server.closeNeeded, loop: index) }
        }
        return true
    }

    /// Routes a read that waits for a replica (or for its client's write position) again.
    private func routeAgain(_ client: ClientConnection) {
        guard case .idle = client.state, client.split?.catchUpDeadline != nil else { return }
        _ = startTransaction(for: client)
    }

    /// The replica's count of running transactions no longer includes the client's.
    func releaseReplicaPlace(_ split: SplitRouting) {
        guard split.countsAsOutstanding else { return }
        split.countsAsOutstanding = false
        let (database, host) = (split.database, split.host)
        pooler.shared.withLock { $0.replicaSets[database]?.finished(host: host) }
    }

    /// A replica's pool could not open a server: the replica is banned, and the clients waiting
    /// for it (`abandoned`: those the pool already gave up on) go to the primary instead.
    func replicaUnreachable(_ key: PoolKey, abandoned: [ClientID]) {
        let settings = configuration.settings
        let now = MonotonicClock.now()
        let waiting = pooler.shared.withLock { shared in
            shared.replicaSets[key.database]?.ban(host: key.host, now: now, banTime: settings.replicaBanTime)
            let waiting = shared.pools.waitingClients(in: key)
            for client in waiting { shared.pools.withdraw(client, from: key) }
            return abandoned + waiting
        }
        logger.warning("\(key) unreachable: replica banned for \(settings.replicaBanTime) s")
        for clientID in waiting {
            onWorker(clientID.loop) { worker in
                guard let client = worker.clients[clientID], case .waiting = client.state, let split = client.split else { return }
                worker.releaseReplicaPlace(split)
                split.host = 0
                worker.requestServer(for: client)
            }
        }
    }

    private enum FirstStatement {
        case text([UInt8])
        /// Not a message whose statement text Sluice can tell.
        case unknown
        /// The first message is not all there yet: it needs this many bytes.
        case incomplete(Int)
    }

    /// The statement text a transaction's first message carries: a Query's, a Parse's, or that
    /// of the client's prepared statement a Bind or Describe names.
    private static func firstStatement(of client: ClientConnection, in input: IOBuffer) -> FirstStatement {
        guard input.readableCount >= 5 else { return .incomplete(5) }
        let total = 1 + Int(input.uint32(at: 1))
        guard total >= 5, total <= 1 << 20 else { return .unknown }
        guard input.readableCount >= total else { return .incomplete(total) }
        func cString(from start: Int) -> (bytes: [UInt8], end: Int)? {
            var end = start
            while end < total, input.byte(at: end) != 0 { end += 1 }
            return end < total ? (input.copyBytes(at: start, count: end - start), end) : nil
        }
        func statement(named nameStart: Int) -> FirstStatement {
            guard let (name, _) = cString(from: nameStart), !name.isEmpty,
                  let statement = client.statements[String(decoding: name, as: UTF8.self)] else { return .unknown }
            return .text(Array(statement.definition.prefix { $0 != 0 }))
        }
        switch input.byte(at: 0) {
        case FrontendMessageType.query:
            return cString(from: 5).map { .text($0.bytes) } ?? .unknown
        case FrontendMessageType.parse:
            guard let (_, nameEnd) = cString(from: 5), let (query, _) = cString(from: nameEnd + 1) else { return .unknown }
            return .text(query)
        case FrontendMessageType.bind:
            guard let (_, portalEnd) = cString(from: 5) else { return .unknown }
            return statement(named: portalEnd + 1)
        case FrontendMessageType.describe where total > 6 && input.byte(at: 5) == ExtendedQueryMessage.statementKind:
            return statement(named: 6)
        default:
            return .unknown
        }
    }
}
