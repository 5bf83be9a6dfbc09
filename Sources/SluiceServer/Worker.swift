import Logging
import PostgresWire
import SluiceAuth
import SluiceConfig
import SluiceCore
import SluiceIO

/// One event loop and what lives on it: the clients it was given (a client never moves) and
/// the servers it holds now (idle ones stay where they were last used; a checked-out one moves
/// to its client's worker). Only this worker's thread touches it; other workers post to it with
/// `onWorker`.
final class Worker {
    let index: Int
    let loop: EventLoop
    /// Unchecked: the pooler owns its workers and outlives them.
    unowned(unsafe) let pooler: Pooler
    /// This worker's copy of the running configuration; a reload posts the new one to every worker.
    var configuration: Configuration {
        didSet { classifier = Self.classifier(for: configuration) }
    }
    /// Decides which transactions of read/write-split databases may run on a replica.
    private(set) var classifier: QueryRouteClassifier
    /// TLS toward clients and servers, as the configuration asks.
    var tls: TLSContexts
    /// This worker's traffic, by database (the pool's database name).
    var traffic: [String: TrafficCounters] = [:]
    /// The traffic as it stood when the current stats period began, and when that was: SHOW
    /// STATS averages over the period before (`lastPeriod`).
    var trafficAtPeriodStart: [String: TrafficCounters] = [:]
    var periodStart = MonotonicClock.now()
    let startedAt = MonotonicClock.now()
    var lastPeriod: (traffic: [String: TrafficCounters], seconds: Double)?
    /// Logins refused for a wrong password, an unknown user or an auth_hba_file rule.
    var loginFailures = 0
    /// When each pool whose server logins fail tries again, and what the last failure said.
    var loginBackoff = LoginBackoff()
    /// This worker's copy of what PAUSE holds (`Worker+Pause`), and the clients it holds.
    var pausedAll = false
    var pausedDatabases: Set<String> = []
    var heldClients: [ClientID: ClientConnection] = [:]
    /// On the first worker: the /metrics listener, when metrics_listen is set.
    var metrics: MetricsEndpoint?
    /// On the first worker: the watches of read/write-split databases' servers, by database.
    var replicaWatches: [String: ReplicaWatch] = [:]
    /// What waits for the resolver's answer, by host name (`Worker+HostNames`).
    var hostWaiters: [String: [(HostCache.Answer) -> Void]] = [:]
    var clients: [ClientID: ClientConnection] = [:]
    var servers: [ServerID: ServerConnection] = [:]
    /// Set once a shutdown began, to how it goes on.
    var shutdownMode: AdminCommand.ShutdownMode?
    var statementCounts = PreparedStatementCounts()
    /// True once this worker told the pooler it has no client left while stopping.
    private var reportedNoClients = false

    init(index: Int, loop: EventLoop, configuration: Configuration, tls: TLSContexts, pooler: Pooler) {
        self.index = index
        self.loop = loop
        self.configuration = configuration
        self.tls = tls
        self.pooler = pooler
        classifier = Self.classifier(for: configuration)
    }

    private static func classifier(for configuration: Configuration) -> QueryRouteClassifier {
        QueryRouteClassifier(writingFunctions: WritingFunctions(patterns: configuration.settings.writingFunctions))
    }

    var logger: Logger { pooler.logger }
    var trackedParameters: TrackedParameters { pooler.trackedParameters }

    /// Runs `work` on the worker at `index`: at once when that is this one, else on its thread.
    func onWorker(_ index: Int, _ work: @escaping (Worker) -> Void) {
        let target = pooler.workers[index]
        guard target !== self else {
            work(self)
            return
        }
        pooler.post(to: index, work)
    }

    /// Runs the body with the shared pools locked; the actions it returns are performed after.
    func pools(_ body: (inout PoolManager) -> [PoolManager.Action]) {
        perform(pooler.shared.withLock { body(&$0.pools) })
    }

    /// A client connection accepted for this worker.
    func adoptClient(fd: Int32, peer: String) {
        if peer != "unix" { Socket.setNoDelay(fd) }
        let connection: Connection
        do {
            connection = try Connection(fd: fd, loop: loop)
        } catch {
            Socket.close(fd)
            logger.error("cannot register client connection from \(peer): \(error)")
            return
        }
        let settings = configuration.settings
        var policy = ClientLoginPolicy(
            authType: settings.authType,
            hasUserlist: settings.authFile != nil,
            secret: { [secrets = configuration.userSecrets] in secrets[$0] },
            ignoredStartupParameters: settings.ignoreStartupParameters,
            trackedParameters: trackedParameters,
            mockKey: pooler.mockKey,
            verifierForPassword: { [plaintextVerifiers = pooler.plaintextVerifiers] in plaintextVerifiers.verifier(user: $0, password: $1) }
        )
        policy.offersTLS = tls.client != nil
        policy.requiresTLS = tls.clientRequiresTLS
        policy.hostBasedAuthentication = configuration.hostBasedAuthentication
        policy.peerAddress = Self.address(ofPeer: peer)?.host
        policy.peerIsOwner = peer == "unix" && Socket.peerIsThisUser(fd)
        let id = ClientID(pooler.newID(), loop: index)
        let cancelKey = pooler.shared.withLock { shared in
            let key = Self.newCancelKey(unlike: shared.clientsByCancelKey)
            shared.clientsByCancelKey[key] = id
            return key
        }
        let client = ClientConnection(
            id: id, connection: connection, peer: peer, worker: self,
            login: ClientLogin(policy: policy, random: { Crypto.randomBytes($0) }),
            cancelKey: cancelKey
        )
        clients[id] = client
        if settings.clientLoginTimeout > 0 {
            // By ID rather than a weak reference: one weak reference ever made gives an object a
            // side table, which slows every later retain and release of it.
            client.loginTimer = loop.schedule(after: settings.clientLoginTimeout) { [unowned self] in
                clients[id]?.reject(ErrorFields(code: SQLState.protocolViolation, message: "client_login_timeout"))
            }
        }
    }

    /// The IP address and port in `host:port` or `[v6]:port`; nil for a Unix-socket peer.
    static func address(ofPeer peer: String) -> (host: String, port: String)? {
        guard peer != "unix", let colon = peer.lastIndex(of: ":") else { return nil }
        let host = peer[..<colon]
        let unbracketed = host.hasPrefix("[") && host.hasSuffix("]") ? host.dropFirst().dropLast() : host
        return (String(unbracketed), String(peer[peer.index(after: colon)...]))
    }

    /// A random key no other client holds, so a CancelRequest can only reach its own client.
    private static func newCancelKey(unlike taken: [BackendKey: ClientID]) -> BackendKey {
        while true {
            let bytes = Crypto.randomBytes(8)
            let pid = Int32(bitPattern: UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3]))
            let secret = Int32(bitPattern: UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7]))
            let key = BackendKey(processID: pid & 0x7FFF_FFFF, secretKey: secret)
            if taken[key] == nil { return key }
        }
    }

    /// Refuses a new session when Sluice is stopping or max_client_conn is reached.
    func admissionRefusal() -> ErrorFields? {
        if shutdownMode != nil {
            return ErrorFields(code: SQLState.cannotConnectNow, message: "the pooler is shutting down")
        }
        if pooler.shared.withLock({ $0.clientsByCancelKey.count }) > configuration.settings.maxClientConn {
            return ErrorFields(code: SQLState.tooManyConnections, message: "no more connections allowed (max_client_conn)")
        }
        return nil
    }

    func forget(_ client: ClientConnection) {
        clients[client.id] = nil
        pooler.shared.withLock { $0.clientsByCancelKey[client.cancelKey] = nil }
        if shutdownMode != nil && clients.isEmpty { reportNoClients() }
    }

    /// Tells the pooler, once, that this stopping worker has no client left.
    func reportNoClients() {
        guard !reportedNoClients else { return }
        reportedNoClients = true
        pooler.workerHasNoClients(self)
    }

    func newServerID() -> ServerID { ServerID(pooler.newID()) }

    /// The shared statement for a definition a client prepares (with SQL-level PREPARE when `sql`).
    func registeredStatement(_ definition: [UInt8], sql: Bool = false) -> PreparedStatement {
        pooler.shared.withLock { $0.statements.statement(for: definition, sql: sql) }
    }
}

/// Work posted to another worker, with that worker: the closure and what it captures move to
/// the target's thread with it (the sender touches none of it again), hence `@unchecked Sendable`.
/// A class of its own on purpose: a tuple in a generic box, taken apart inside the posted
/// closure, released the worker once too often with Swift 6.3 (seen here: workers freed while running).
final class PostedWork: @unchecked Sendable {
    let worker: Worker
    let work: (Worker) -> Void

    init(worker: Worker, work: @escaping (Worker) -> Void) {
        self.worker = worker
        self.work = work
    }

    func run() { work(worker) }
}

/// What the mapping of clients' named statements did on one worker.
struct PreparedStatementCounts {
    /// Client Parse messages sent to a server (the statement was new there).
    var prepares = 0
    /// Statements prepared again on another server before a client used them there.
    var reprepares = 0
    /// Client Parse messages answered without the server, which already had the statement.
    var hits = 0
    /// Statements closed on a server to stay within max_prepared_statements.
    var evictions = 0
    /// Pipelines sent again after a shared statement's plan had gone stale (`StaleStatementRetry`).
    var staleRetries = 0
}
