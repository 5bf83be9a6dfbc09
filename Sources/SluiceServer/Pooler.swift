import Logging
import PostgresWire
import SluiceAuth
import SluiceConfig
import SluiceCore
import SluiceIO

/// The running pooler: listeners, every client and server connection, and the pools, all on
/// one event loop.
public final class Pooler {
    public let loop: EventLoop
    public internal(set) var configuration: Configuration
    let logger: Logger
    let reloadConfiguration: () throws -> Configuration
    var listeners: [Listener] = []
    var signals: SignalWatcher?
    var pools = PoolManager()
    var clients: [ClientID: ClientConnection] = [:]
    var servers: [ServerID: ServerConnection] = [:]
    var clientsByCancelKey: [BackendKey: ClientConnection] = [:]
    /// The parameters the first server of each pool reported: the defaults a client is brought back to.
    var poolDefaults: [PoolKey: [StartupParameter]] = [:]
    /// The latest ClientKey each user proved with SCRAM, for logging in to PostgreSQL as that user.
    var passThroughKeys: [String: [UInt8]] = [:]
    /// Per-process key for the fake SCRAM verifiers of unknown users.
    let mockKey = Crypto.randomBytes(32)
    let plaintextVerifiers = ScramVerifierCache()
    /// The settings every client's session keeps across servers (from track_extra_parameters).
    /// Fixed at start: every client's and server's tracked values are laid out by it.
    let trackedParameters: TrackedParameters
    private var nextClientID: UInt64 = 0
    private var nextServerID: UInt64 = 0
    var stopping = false
    /// SIGINT lets transactions in flight finish (as SIGTERM does). The demo sets it false so
    /// Ctrl-C ends everything at once.
    public var interruptFinishesTransactions = true

    /// - Parameter reloadConfiguration: reads the configuration again on SIGHUP.
    public init(configuration: Configuration, logger: Logger, reloadConfiguration: @escaping () throws -> Configuration) throws {
        self.configuration = configuration
        self.logger = logger
        self.reloadConfiguration = reloadConfiguration
        trackedParameters = TrackedParameters(extra: configuration.settings.trackExtraParameters)
        loop = try EventLoop(bufferSize: max(configuration.settings.packetBufferSize, 16 * 1024))
    }

    /// Binds the listeners and starts watching signals. Throws if no listener could be opened.
    public func start() throws {
        guard configuration.settings.threads == 1 else {
            throw StartError("threads = \(configuration.settings.threads): this version of Sluice runs one event loop; set threads = 1")
        }
        SignalWatcher.ignoreBrokenPipes()
        signals = try SignalWatcher(loop: loop) { [unowned self] signal in handleSignal(signal) }
        let settings = configuration.settings
        for host in settings.listenAddresses.flatMap({ $0 == "*" ? ["0.0.0.0", "::"] : [$0] }) {
            let fd = try Socket.listenTCP(host: host, port: settings.listenPort)
            try addListener(fd: fd, address: host.contains(":") ? "[\(host)]:\(settings.listenPort)" : "\(host):\(settings.listenPort)")
        }
        if let directory = settings.unixSocketDir, !directory.isEmpty {
            let path = "\(directory)/.s.PGSQL.\(settings.listenPort)"
            try addListener(fd: try Socket.listenUnix(path: path), address: path)
        }
        scheduleJanitor()
        guard !listeners.isEmpty else {
            throw StartError("listen_addr and unix_socket_dir are both empty: nothing to listen on")
        }
    }

    /// Runs the loop until a shutdown signal.
    public func run() {
        loop.run()
    }

    private func addListener(fd: Int32, address: String) throws {
        let listener = try Listener(fd: fd, address: address, loop: loop, onAccept: { [unowned self] fd, peer in
            accept(fd: fd, peer: peer)
        }, onError: { [unowned self] error in
            logger.error("accept failed on \(address): \(error)")
        })
        listeners.append(listener)
        logger.info("listening on \(address)")
    }

    private func accept(fd: Int32, peer: String) {
        if peer != "unix" { Socket.setNoDelay(fd) }
        let connection: Connection
        do {
            connection = try Connection(fd: fd, loop: loop)
        } catch {
            Socket.close(fd)
            logger.error("cannot register client connection from \(peer): \(error)")
            return
        }
        nextClientID += 1
        let settings = configuration.settings
        let policy = ClientLoginPolicy(
            authType: settings.authType,
            hasUserlist: settings.authFile != nil,
            secret: { [secrets = configuration.userSecrets] in secrets[$0] },
            ignoredStartupParameters: settings.ignoreStartupParameters,
            trackedParameters: trackedParameters,
            mockKey: mockKey,
            verifierForPassword: { [plaintextVerifiers] in plaintextVerifiers.verifier(user: $0, password: $1) }
        )
        let client = ClientConnection(
            id: ClientID(nextClientID), connection: connection, peer: peer, pooler: self,
            login: ClientLogin(policy: policy, random: { Crypto.randomBytes($0) }),
            cancelKey: newCancelKey()
        )
        clients[client.id] = client
        clientsByCancelKey[client.cancelKey] = client
        if settings.clientLoginTimeout > 0 {
            client.loginTimer = loop.schedule(after: settings.clientLoginTimeout) { [weak client] in
                client?.reject(ErrorFields(code: SQLState.protocolViolation, message: "client_login_timeout"))
            }
        }
    }

    /// A random key no other client holds, so a CancelRequest can only reach its own client.
    private func newCancelKey() -> BackendKey {
        while true {
            let bytes = Crypto.randomBytes(8)
            let pid = Int32(bitPattern: UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3]))
            let secret = Int32(bitPattern: UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7]))
            let key = BackendKey(processID: pid & 0x7FFF_FFFF, secretKey: secret)
            if clientsByCancelKey[key] == nil { return key }
        }
    }

    /// Refuses a new session when Sluice is stopping or max_client_conn is reached.
    func admissionRefusal() -> ErrorFields? {
        if stopping {
            return ErrorFields(code: SQLState.cannotConnectNow, message: "the pooler is shutting down")
        }
        if clients.count > configuration.settings.maxClientConn {
            return ErrorFields(code: SQLState.tooManyConnections, message: "no more connections allowed (max_client_conn)")
        }
        return nil
    }

    func forget(_ client: ClientConnection) {
        clients[client.id] = nil
        if clientsByCancelKey[client.cancelKey] === client { clientsByCancelKey[client.cancelKey] = nil }
        if stopping && clients.isEmpty { finishStopping() }
    }

    func newServerID() -> ServerID {
        nextServerID += 1
        return ServerID(nextServerID)
    }
}

/// Why the pooler cannot start with the configuration it was given.
public struct StartError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
