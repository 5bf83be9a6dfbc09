import Glibc
import Logging
import PostgresWire
import SluiceAuth
import SluiceConfig
import SluiceCore
import SluiceIO
import Synchronization

/// The running pooler: `threads` workers, each an event loop on its own thread, sharing one set
/// of pools.
///
/// A client stays on the worker that accepted it. A server moves to its client's worker when
/// it is checked out (its socket leaves one epoll and joins the other), so a linked pair is
/// always served by one thread and no message crosses threads on the hot path. What the
/// workers share (`SharedState`: the pools, cancel keys, pool defaults, prepared-statement
/// definitions) sits behind one lock, taken for a checkout, a checkin, a login and a client's
/// named Parse; everything else belongs to one worker.
public final class Pooler: @unchecked Sendable {
    // @unchecked: after `init` the only mutable state reached from several threads is `shared`
    // (behind its lock) and each worker's, which only its own thread touches (others post to it);
    // `listeners`, `signals` and `interruptFinishesTransactions` belong to the main worker.
    let logger: Logger
    let reloadConfiguration: @Sendable () throws -> Configuration
    let shared: Guarded<SharedState>
    private(set) var workers: [Worker] = []
    /// The settings every client's session keeps across servers (from track_extra_parameters).
    /// Fixed at start: every client's and server's tracked values are laid out by it.
    let trackedParameters: TrackedParameters
    /// Per-process key for the fake SCRAM verifiers of unknown users.
    let mockKey = Crypto.randomBytes(32)
    let plaintextVerifiers = ScramVerifierCache()
    let resolver = HostResolver()
    private let nextID = Atomic<UInt64>(0)
    var listeners: [Listener] = []
    /// The Unix socket this process made, and which file it is: at exit it is removed only if
    /// still the same file (after an online restart it is the successor's).
    var unixSocket: (path: String, identity: FileIdentity?)?
    var signals: SignalWatcher?
    private var threads: [LoopThread] = []
    /// The worker the next accepted client goes to (round robin).
    private var nextWorker = 0
    /// SIGINT lets transactions in flight finish (SHUTDOWN WAIT_FOR_SERVERS). The demo sets it
    /// false so Ctrl-C ends everything at once.
    public var interruptFinishesTransactions = true

    /// Where `logger` writes, when it is to follow `logfile` as reloads change it.
    let logSink: LogSink?

    /// - Parameters:
    ///   - logSink: where `logger` writes; reopened on every RELOAD and SIGHUP (for log rotation)
    ///     and when SET changes logfile.
    ///   - reloadConfiguration: reads the configuration again on SIGHUP.
    public init(configuration: Configuration, logger: Logger, logSink: LogSink? = nil,
                reloadConfiguration: @escaping @Sendable () throws -> Configuration) throws {
        self.logger = logger
        self.logSink = logSink
        self.reloadConfiguration = reloadConfiguration
        trackedParameters = TrackedParameters(extra: configuration.settings.trackExtraParameters)
        shared = Guarded(SharedState())
        let bufferSize = max(configuration.settings.packetBufferSize, 16 * 1024)
        let tls: TLSContexts
        do {
            tls = try TLSContexts(configuration.settings)
        } catch {
            throw StartError("TLS: \(error)")
        }
        for index in 0..<max(1, configuration.settings.threads) {
            workers.append(Worker(index: index, loop: try EventLoop(bufferSize: bufferSize),
                                  configuration: configuration, tls: tls, pooler: self))
        }
    }

    /// Runs `work` on the thread of the worker at `index`, later, whichever thread asks.
    func post(to index: Int, _ work: @escaping (Worker) -> Void) {
        let posted = PostedWork(worker: workers[index], work: work)
        workers[index].loop.execute { posted.run() }
    }

    /// The worker that runs on the calling thread, with the listeners and the signal watcher.
    var main: Worker { workers[0] }

    /// Binds the listeners and starts watching signals. Throws if no listener could be opened,
    /// or any of them (the metrics endpoint included) could not: then nothing was announced and
    /// no socket file is left behind.
    /// - Parameters:
    ///   - waitingForPort: how long to retry a TCP address in use, for an online restart whose
    ///     predecessor is closing its listeners.
    ///   - replacingSocket: an online restart: the Unix socket file of the running Sluice is
    ///     taken over. Otherwise a Unix socket another process listens on refuses the start.
    public func start(waitingForPort: Double = 0, replacingSocket: Bool = false) throws {
        SignalWatcher.ignoreBrokenPipes()
        // Before any other thread exists, so that every worker inherits the blocked signals.
        signals = try SignalWatcher(loop: main.loop) { [unowned self] signal in handleSignal(signal) }
        let settings = main.configuration.settings
        var bound: [(fd: Int32, address: String)] = []
        var socketPath: String?
        var metrics: (fd: Int32, address: String)?
        do {
            for host in settings.listenAddresses.flatMap({ $0 == "*" ? ["0.0.0.0", "::"] : [$0] }) {
                let fd = try listenTCP(host: host, port: settings.listenPort, reusePort: settings.soReuseport, retryingFor: waitingForPort)
                bound.append((fd, host.contains(":") ? "[\(host)]:\(settings.listenPort)" : "\(host):\(settings.listenPort)"))
            }
            if let directory = settings.unixSocketDir, !directory.isEmpty {
                let path = "\(directory)/.s.PGSQL.\(settings.listenPort)"
                if !replacingSocket && Socket.hasListener(unixPath: path) {
                    throw StartError("unix socket \(path) is in use by another process (stop it, or take over with -R)")
                }
                bound.append((try Socket.listenUnix(path: path), path))
                socketPath = path
            }
            guard !bound.isEmpty else {
                throw StartError("listen_addr and unix_socket_dir are both empty: nothing to listen on")
            }
            if let address = settings.metricsListen {
                guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
                    throw StartError("metrics_listen must be host:port, not \"\(address)\"")
                }
                metrics = (try listenTCP(host: String(address[..<colon]), port: port, reusePort: settings.soReuseport,
                                         retryingFor: waitingForPort), address)
            }
        } catch {
            for (fd, _) in bound { Socket.close(fd) }
            // Under -R the file may be the running predecessor's again: leave it then.
            if let socketPath, !replacingSocket { unlink(socketPath) }
            throw error
        }
        for (fd, address) in bound { try addListener(fd: fd, address: address) }
        if let socketPath { unixSocket = (socketPath, FileIdentity(socketPath)) }
        if let (fd, address) = metrics {
            main.metrics = try MetricsEndpoint(worker: main, fd: fd, address: address)
            logger.info("serving metrics on http://\(address)/metrics")
        }
        for worker in workers { worker.scheduleJanitor() }
        main.startReplicaWatches()
    }

    /// Runs every worker until shutdown: the first on the calling thread, the others on threads
    /// of their own, which are joined before this returns.
    public func run() throws {
        for worker in workers.dropFirst() {
            let loop = worker.loop
            threads.append(try LoopThread { loop.run() })
        }
        main.loop.run()
        for thread in threads { thread.join() }
        threads = []
    }

    private func listenTCP(host: String, port: Int, reusePort: Bool, retryingFor seconds: Double) throws -> Int32 {
        let deadline = MonotonicClock.now() + seconds
        while true {
            do {
                return try Socket.listenTCP(host: host, port: port, reusePort: reusePort)
            } catch let error as SocketError where error.code == EADDRINUSE && MonotonicClock.now() < deadline {
                usleep(20_000)
            }
        }
    }

    private func addListener(fd: Int32, address: String) throws {
        let listener = try Listener(fd: fd, address: address, loop: main.loop, onAccept: { [unowned self] fd, peer in
            accept(fd: fd, peer: peer)
        }, onError: { [unowned self] error in
            logger.error("accept failed on \(address): \(error)")
        })
        listeners.append(listener)
        logger.info("listening on \(address)")
    }

    /// Hands a new client to the next worker in turn.
    private func accept(fd: Int32, peer: String) {
        let index = nextWorker
        nextWorker = (nextWorker + 1) % workers.count
        main.onWorker(index) { $0.adoptClient(fd: fd, peer: peer) }
    }

    /// A number no other client or server of this process has.
    func newID() -> UInt64 {
        nextID.add(1, ordering: .relaxed).newValue
    }
}

/// What the workers share, behind `Pooler.shared`'s lock.
struct SharedState {
    var pools = PoolManager()
    /// The parameters the first server of each pool reported: the defaults a client is brought back to.
    var poolDefaults: [PoolKey: [StartupParameter]] = [:]
    /// The latest ClientKey each user proved with SCRAM, for logging in to PostgreSQL as that user.
    var passThroughKeys: [String: [UInt8]] = [:]
    /// Which client holds each cancel key Sluice gave out (the ID names the client's worker).
    /// Every connected client holds one, so its count is the client count for max_client_conn.
    var clientsByCancelKey: [BackendKey: ClientID] = [:]
    /// Every statement definition clients prepared by name, for sharing them across clients.
    var statements = StatementRegistry()
    /// Workers that have no client left while stopping.
    var stoppedWorkers = 0
    /// What is known of each read/write-split database's replicas, by database name.
    var replicaSets: [String: ReplicaSet] = [:]
    /// Databases the console's DISABLE closed to new logins.
    var disabledDatabases: Set<String> = []
}

public enum SluiceVersion {
    public static let current = "0.1.0"
}

/// Why the pooler cannot start with the configuration it was given.
public struct StartError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Which file a path names, to tell a file this process made from one that replaced it since:
/// device and inode, and the change time, since a new file may reuse a freed inode number.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64
    let changed: (seconds: Int, nanoseconds: Int)

    init?(_ path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        changed = (status.st_ctim.tv_sec, status.st_ctim.tv_nsec)
    }

    static func == (lhs: FileIdentity, rhs: FileIdentity) -> Bool {
        lhs.device == rhs.device && lhs.inode == rhs.inode && lhs.changed == rhs.changed
    }
}
