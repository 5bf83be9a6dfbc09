import PostgresWire
import SluiceConfig
import SluiceCore
import SluiceIO

/// The admin console's commands. Answers that describe clients and servers gather from every
/// worker (each reports what lives on it) and are sent from the asking client's worker.
extension Worker {
    /// A client that asked for the console database logged in: admin_users may run every
    /// command, stats_users only SHOW; anyone else is refused.
    /// `isOwner`: user pgbouncer on the Unix socket, run by Sluice's own OS user, which is an
    /// admin whatever admin_users says.
    func adminLogin(_ client: ClientConnection, user: String, isOwner: Bool = false) {
        let settings = configuration.settings
        let mayChange = isOwner || settings.adminUsers.contains(user)
        guard mayChange || settings.statsUsers.contains(user) else {
            client.reject(ErrorFields(code: SQLState.invalidAuthorization,
                                      message: "user \"\(user)\" is in neither admin_users nor stats_users"))
            return
        }
        client.state = .admin(mayChange: mayChange)
        client.sendWelcome(parameters: [
            StartupParameter(name: "server_version", value: "\(SluiceVersion.current)/sluice"),
            StartupParameter(name: "server_encoding", value: "UTF8"),
            StartupParameter(name: "client_encoding", value: "UTF8"),
            StartupParameter(name: "DateStyle", value: "ISO"),
            StartupParameter(name: "standard_conforming_strings", value: "on"),
            StartupParameter(name: "TimeZone", value: "UTC"),
        ])
        if let input = client.connection.input, !input.isEmpty { client.runAdminCommands() }
    }

    /// Runs one console command; `answer` gets what to send before ReadyForQuery.
    func runAdminCommand(_ text: String, mayChange: Bool, for client: ClientConnection,
                         answer: @escaping ([UInt8]) -> Void) {
        guard let command = AdminCommand(text) else {
            answer(ErrorFields(severity: "ERROR", code: SQLState.syntaxError,
                               message: "invalid admin command \"\(text)\"; the console knows SHOW, PAUSE, RESUME, KILL, KILL_CLIENT, DISABLE, ENABLE, RECONNECT, WAIT_CLOSE, SET, RELOAD and SHUTDOWN").encoded())
            return
        }
        if case .show(let subject) = command {
            show(subject, answer: answer)
            return
        }
        if let database = command.database, configuration.database(named: database) == nil {
            answer(ErrorFields(severity: "ERROR", code: SQLState.undefinedObject, message: "no database \"\(database)\"").encoded())
            return
        }
        guard mayChange else {
            answer(ErrorFields(severity: "ERROR", code: SQLState.insufficientPrivilege,
                               message: "admin access needed: the user is in stats_users, not admin_users").encoded())
            return
        }
        switch command {
        case .show:
            break   // answered above, for stats_users too
        case .reload:
            let home = index
            onWorker(0) { main in
                let failure = main.pooler.reload()
                // Posted from the main worker's thread back to the asking one.
                main.onWorker(home) { _ in
                    answer(failure.map { ErrorFields(severity: "ERROR", code: SQLState.configFileError, message: $0).encoded() }
                        ?? BackendMessage.commandComplete("RELOAD"))
                }
            }
        case .shutdown(let mode):
            answer(BackendMessage.commandComplete("SHUTDOWN"))
            onWorker(0) { main in main.pooler.beginStopping(mode, cause: "SHUTDOWN from the admin console") }
        case .killClient(let id):
            gather({ worker -> Bool in
                // The id column's number (PgBouncer 1.25) or the ptr column's C-number.
                guard let client = worker.clients.values.first(where: { $0.id.description == id || String($0.id.value) == id }) else {
                    return false
                }
                client.reject(ErrorFields(code: SQLState.adminShutdown, message: "closed by KILL_CLIENT from the admin console"))
                return true
            }) { found in
                answer(found.contains(true) ? BackendMessage.commandComplete("KILL_CLIENT")
                    : ErrorFields(severity: "ERROR", code: SQLState.undefinedObject, message: "no client \(id)").encoded())
            }
        case .pause(let database):
            pause(database, answer: answer)
        case .resume(let database):
            resume(database, answer: answer)
        case .kill(let database):
            kill(database, answer: answer)
        case .disable(let database):
            setLoginsAllowed(false, to: database, answer: answer)
        case .enable(let database):
            setLoginsAllowed(true, to: database, answer: answer)
        case .reconnect(let database):
            reconnect(database, answer: answer)
        case .waitClose(let database):
            waitClose(database, answer: answer)
        case .set(let key, let value):
            let home = index
            onWorker(0) { main in
                let outcome: [UInt8]
                do throws(SettingChangeError) {
                    try main.pooler.change(key, to: value)
                    outcome = BackendMessage.commandComplete("SET")
                } catch {
                    outcome = ErrorFields(severity: "ERROR", code: SQLState.invalidParameterValue, message: error.message).encoded()
                }
                main.onWorker(home) { _ in answer(outcome) }
            }
        }
    }

    private func show(_ subject: String, answer: @escaping ([UInt8]) -> Void) {
        switch subject {
        case "VERSION":
            var table = ResultSet([.init("version", .text)])
            table.append(["Sluice \(SluiceVersion.current)"])
            answer(table.encoded(tag: "SHOW"))
        case "CONFIG":
            answer(AdminTables.config(configuration.settings).encoded(tag: "SHOW"))
        case "DATABASES":
            let (pools, disabled) = pooler.shared.withLock { ($0.pools.overview, $0.disabledDatabases) }
            answer(AdminTables.databases(configuration, pools: pools, paused: { self.isPaused($0) }, disabled: disabled).encoded(tag: "SHOW"))
        case "USERS":
            answer(AdminTables.users(configuration).encoded(tag: "SHOW"))
        case "DNS_HOSTS":
            var table = ResultSet([.init("hostname", .text), .init("ttl", .int8), .init("addrs", .text)])
            for (host, secondsLeft, addresses) in pooler.resolver.listing() {
                table.append([host, String(Int(secondsLeft.rounded(.up))), addresses.joined(separator: ",")])
            }
            answer(table.encoded(tag: "SHOW"))
        case "REPLICAS":
            let (pools, replicas) = pooler.shared.withLock { ($0.pools.overview, $0.replicaSets) }
            answer(AdminTables.replicas(pools, configuration: configuration, replicaSets: replicas, now: MonotonicClock.now()).encoded(tag: "SHOW"))
        case "STATE":
            answer(AdminTables.state(stopping: shutdownMode != nil, paused: pausedAll || !pausedDatabases.isEmpty).encoded(tag: "SHOW"))
        case "STATS", "STATS_TOTALS", "STATS_AVERAGES":
            gather({ $0.trafficSnapshot() }) { parts in
                let (totals, period, seconds) = TrafficSnapshot.merge(parts)
                answer(AdminTables.stats(subject, totals: totals, period: period, seconds: seconds).encoded(tag: "SHOW"))
            }
        case "CLIENTS", "SERVERS", "POOLS", "LISTS":
            gather({ $0.adminSnapshot() }) { [unowned self] snapshots in
                let all = AdminSnapshot(merging: snapshots)
                let table: ResultSet
                switch subject {
                case "CLIENTS": table = AdminTables.clients(all)
                case "SERVERS": table = AdminTables.servers(all)
                case "POOLS":
                    let (pools, replicas) = pooler.shared.withLock { ($0.pools.overview, $0.replicaSets) }
                    table = AdminTables.pools(pools, all, configuration: configuration, replicaSets: replicas)
                default: table = AdminTables.lists(all, configuration: configuration, pools: pooler.shared.withLock { $0.pools.overview },
                                                   dns: pooler.resolver.counts)
                }
                answer(table.encoded(tag: "SHOW"))
            }
        default:
            answer(ErrorFields(severity: "ERROR", code: SQLState.syntaxError,
                               message: "SHOW \(subject) is not one of: POOLS, STATS, STATS_TOTALS, STATS_AVERAGES, CLIENTS, SERVERS, DATABASES, USERS, CONFIG, LISTS, STATE, VERSION, DNS_HOSTS, REPLICAS").encoded())
        }
    }

    /// Runs `collect` on every worker, on its own thread, and `then` with the results here.
    func gather<T>(_ collect: @escaping (Worker) -> T, then: @escaping ([T]) -> Void) {
        let results = GatheredResults<T>(expected: pooler.workers.count, then: then)
        let home = index
        for worker in pooler.workers {
            onWorker(worker.index) { target in
                let result = collect(target)
                target.onWorker(home) { _ in results.add(result) }
            }
        }
    }

    /// Copies of this worker's traffic counters and of its last stats period (or, before one
    /// has ended, of everything since it started).
    func trafficSnapshot() -> TrafficSnapshot {
        let totals = traffic.mapValues { $0.copy() }
        let period = lastPeriod ?? (totals, max(1, MonotonicClock.now() - startedAt))
        return TrafficSnapshot(totals: totals, period: period.traffic, seconds: period.seconds, loginFailures: loginFailures)
    }

    /// The clients and servers on this worker, as the console shows them.
    func adminSnapshot() -> AdminSnapshot {
        let now = MonotonicClock.now()
        var snapshot = AdminSnapshot()
        for client in clients.values where !client.state.isClosed {
            snapshot.clients.append(AdminSnapshot.Client(client, now: now))
        }
        for server in servers.values where !server.state.isClosed {
            snapshot.servers.append(AdminSnapshot.Server(server, now: now))
        }
        return snapshot
    }
}

/// Results of `Worker.gather`, collected on the asking worker's thread only.
private final class GatheredResults<T> {
    private var results: [T] = []
    private let expected: Int
    private let then: ([T]) -> Void

    init(expected: Int, then: @escaping ([T]) -> Void) {
        self.expected = expected
        self.then = then
    }

    func add(_ result: T) {
        results.append(result)
        if results.count == expected { then(results) }
    }
}

/// One worker's traffic counters, copied on its thread.
struct TrafficSnapshot {
    let totals: [String: TrafficCounters]
    let period: [String: TrafficCounters]
    let seconds: Double
    let loginFailures: Int

    /// Every worker's totals and last periods added up, by database.
    static func merge(_ parts: [TrafficSnapshot]) -> (totals: [String: TrafficCounters], period: [String: TrafficCounters], seconds: Double) {
        func add(_ pick: (TrafficSnapshot) -> [String: TrafficCounters]) -> [String: TrafficCounters] {
            let names = Set(parts.flatMap { pick($0).keys })
            return Dictionary(uniqueKeysWithValues: names.map { name in (name, TrafficCounters(adding: parts.compactMap { pick($0)[name] })) })
        }
        return (add(\.totals), add(\.period), parts.map(\.seconds).max() ?? 1)
    }
}
