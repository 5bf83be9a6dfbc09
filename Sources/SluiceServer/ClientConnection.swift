import Logging
import PostgresWire
import SluiceAuth
import SluiceConfig
import SluiceCore
import SluiceIO

/// One client socket and where it is in its life: logging in, waiting for a server, or linked
/// to one. Lives on the worker that accepted it, for its whole life.
final class ClientConnection: ConnectionDelegate {
    enum State {
        /// Starting up and authenticating, with `login`.
        case loggingIn
        /// Logged in and welcomed, holding no server until it sends something.
        case idle
        case waiting(PoolKey)
        case linked(ServerConnection)
        /// Logged in to the admin console; `mayChange`: an admin_users user, not only stats_users.
        case admin(mayChange: Bool)
        case closed
    }

    let id: ClientID
    let connection: Connection
    let peer: String
    /// `unowned(unsafe)`: workers live as long as the pooler, longer than any connection, and
    /// a checked reference would cost an atomic retain and release at every use.
    unowned(unsafe) let worker: Worker
    var state: State
    /// The key Sluice gave this client for cancelling; never a server's key.
    let cancelKey: BackendKey
    var identity: ClientIdentity?
    /// The tracked settings this client's session should have, by position in the pooler's
    /// `TrackedParameters`; nil means the pool's default.
    var wantedValues: [String?] = []
    var poolKey: PoolKey?
    /// Decided at login from the user, database and global settings.
    var poolMode = PoolMode.session
    /// True once the client has had its ParameterStatus set, BackendKeyData and first ReadyForQuery.
    var welcomed = false
    /// Bytes gathered while login actions run, written together (see `perform`); nil otherwise.
    var loginOutput: [UInt8]?
    var loginTimer: TimerID?
    var stream: MessageStream
    /// True when this client's named statements are mapped to Sluice's shared ones (transaction
    /// and statement mode with max_prepared_statements above 0).
    var mapsStatements = false
    /// The client's named prepared statements, by the client's names.
    var statements: [String: PreparedStatement] = [:]
    /// True when its SQL-level PREPARE, EXECUTE and DEALLOCATE are mapped too (sql_prepared_statements).
    var mapsSQLStatements = false
    /// The statements it prepared with SQL-level PREPARE, by its names: a namespace apart
    /// from `statements` (see `ClientConnection+SQLPreparedStatements`).
    var sqlStatements: [String: PreparedStatement] = [:]
    /// The client's TLS session, once it asked for TLS.
    var tlsSession: TLSSession?
    /// It began with a ClientHello instead of an SSLRequest (PostgreSQL 17's direct TLS).
    var startedTLSDirectly = false
    /// The login machine, until the client has logged in (kept out of `state` so that the
    /// state, read and written on every transaction, stays one word wide).
    var login: ClientLogin?
    /// Set when the client's database splits reads and writes (transaction and statement mode).
    var split: SplitRouting?
    /// When the client last started waiting for a server, or last became idle between transactions.
    var stateSince = MonotonicClock.now()
    /// Its database's counters on this worker, once logged in to a database.
    var counters: TrafficCounters?
    /// When its current transaction got its server.
    var transactionStart = 0.0
    /// An admin console command waits for its answer (from every worker).
    var adminCommandRunning = false
    /// When it connected, for SHOW CLIENTS.
    let connectedAt = WallClock.now()

    init(id: ClientID, connection: Connection, peer: String, worker: Worker, login: ClientLogin, cancelKey: BackendKey) {
        self.id = id
        self.connection = connection
        self.peer = peer
        self.worker = worker
        self.state = .loggingIn
        self.login = login
        self.cancelKey = cancelKey
        stream = MessageStream(maximumMessageLength: worker.configuration.settings.maxPacketSize)
        connection.delegate = self
    }

    var logger: Logger { worker.logger }

    /// "user@database" once known, for log lines.
    var label: String {
        guard let identity else { return "\(id) \(peer)" }
        return "\(id) \(identity.user)@\(identity.database) \(peer)"
    }

    func connectionEstablished(_ connection: Connection) {}

    func connectionReadable(_ connection: Connection) {
        switch state {
        case .loggingIn: continueLogin()
        case .linked(let server): forwardToServer(server)
        case .idle:
            if connection.input.map(Self.holdsOnlyTerminate) == true {
                finish(reason: "client close request")
                return
            }
            if worker.anythingPaused, let poolKey, worker.isPaused(poolKey.database) {
                worker.hold(self)
                return
            }
            // A read waiting for a replica to catch up is routed again by its timer.
            guard split?.catchUpDeadline == nil, worker.startTransaction(for: self) else { return }
            // With an idle server at hand the bytes are already on their way; otherwise hold
            // further input until the server is ready for it.
            if !isCarryingTraffic { connection.pauseReading() }
        case .waiting:
            connection.pauseReading()
        case .admin:
            runAdminCommands()
        case .closed: break
        }
    }

    func connectionDrained(_ connection: Connection) {
        if case .linked(let server) = state { server.connection?.resumeReading() }
    }

    func connectionClosed(_ connection: Connection, reason: ConnectionCloseReason) {
        finish(reason: connection.securityError.map { "TLS: \($0)" } ?? reason.description)
    }

    /// Sends an error and closes, as PostgreSQL does for a FATAL error.
    func reject(_ error: ErrorFields) {
        var fatal = error
        if fatal.severity == "ERROR" { fatal.severity = "FATAL" }
        flushLoginOutput()
        connection.send(fatal.encoded())
        counters?.errorSent(code: fatal.code)
        if worker.configuration.settings.logPoolerErrors {
            logger.warning("\(label) closing because: \(error.message) (\(error.code))")
        }
        finish(reason: error.message, logged: true, graceful: true)
    }

    /// Ends the client's life: returns or closes its server, stops waiting, closes the socket.
    /// `graceful`: Sluice has just told the client why (`reject`); the socket closes only once
    /// the client has read that, or after a second (see `Connection.closeGracefully`).
    func finish(reason: String, logged: Bool = false, graceful: Bool = false) {
        let previous = state
        guard !(previous.isClosed) else { return }
        state = .closed
        if let loginTimer { connection.loop.cancel(loginTimer) }
        switch previous {
        case .waiting(let key): worker.withdraw(self, from: key)
        case .linked(let server): server.clientLeft()
        case .loggingIn, .idle, .admin, .closed: break
        }
        if let split { worker.releaseReplicaPlace(split) }
        if !worker.heldClients.isEmpty { worker.heldClients[id] = nil }
        if graceful { connection.closeGracefully(within: 1) } else { connection.close() }
        worker.forget(self)
        if worker.configuration.settings.logDisconnections && !logged {
            logger.info("\(label) closing because: \(reason)")
        }
    }

    // MARK: Linked

    /// Keeps a tracked setting the server reported while serving this client (after a `SET`),
    /// so the client finds it on whichever server it gets next.
    func remember(_ parameter: StartupParameter) {
        guard let index = worker.trackedParameters.index(of: parameter.name), index < wantedValues.count else { return }
        wantedValues[index] = parameter.value
    }

    /// A client between transactions that only says goodbye needs no server for it.
    private static func holdsOnlyTerminate(_ input: IOBuffer) -> Bool {
        input.readableCount == 5 && input.byte(at: 0) == FrontendMessageType.terminate
    }

    /// True when linked to a server that carries the client's messages (not one still
    /// running Sluice's own queries for it).
    var isCarryingTraffic: Bool {
        guard case .linked(let server) = state, case .linked = server.state else { return false }
        return true
    }

    /// True while the client's server is working for it or holds its open transaction.
    var isInTransaction: Bool {
        guard case .linked(let server) = state else { return false }
        return !server.isClean || isMidMessage
    }

    /// True when a message is only partly forwarded: its server must stay linked until the rest follows.
    var isMidMessage: Bool { stream.remainingPassThrough > 0 }

    /// Forwards the client's messages to its server, keeping a Terminate back and mapping
    /// named statements when `mapsStatements`.
    func forwardToServer(_ server: ServerConnection) {
        guard let input = connection.input, let serverConnection = server.connection else { return }
        var terminated = false
        var blocked = false
        var received = 0
        let readsWhole = stream.maximumInspectedLength
        let outcome = stream.scan(input, decide: { type, length in
            let answered = server.noteClientMessage(type)
            if type == FrontendMessageType.terminate { return .whole }
            return mapsStatements ? statementDecision(type, fitsWhole: length <= readsWhole, answered: answered, server: server) : .pass
        }, inspect: { type, body in
            guard type != FrontendMessageType.terminate else {
                terminated = true
                return .dropAndStop
            }
            return mapStatements(type, body, server: server)
        }, forward: { offset, count in
            received += count
            if mapsStatements { server.staleRetry.record(count) { input.appendBytes(at: offset, count: count, to: &$0) } }
            if !serverConnection.send(from: input, offset: offset, count: count) { blocked = true }
        }, insert: { bytes in
            if mapsStatements { server.staleRetry.record(bytes.count) { $0 += bytes } }
            if !serverConnection.send(bytes) { blocked = true }
        })
        counters?.bytesReceived += received
        if blocked { connection.pauseReading() }
        if terminated {
            finish(reason: "client close request")
        } else if outcome == .malformed {
            reject(ErrorFields(code: SQLState.protocolViolation, message: "invalid message from client"))
        } else if case .needsRoom(let size) = outcome {
            connection.enlargeInput(toHold: size)
        } else if case .exceedsMaximum(let size) = outcome {
            reject(ErrorFields(code: SQLState.programLimitExceeded,
                               message: "a \(size)-byte message is longer than max_packet_size (\(stream.maximumMessageLength) bytes)"))
        } else if case .tooLarge(let size) = outcome {
            reject(ErrorFields(code: SQLState.programLimitExceeded,
                               message: "a \(size)-byte Parse, Describe or Close is more than Sluice reads whole (\(stream.maximumInspectedLength) bytes)"))
        }
    }
}

extension ClientConnection.State {
    var isClosed: Bool {
        if case .closed = self { return true }
        return false
    }
}

/// A client's read/write routing between transactions (see `Worker+Routing`). A class: the
/// hot path of every client checks only whether it has one.
final class SplitRouting {
    let database: String
    let replicasOnly: Bool
    let readYourWrites: ReadYourWrites

    init(database: String, replicasOnly: Bool, readYourWrites: ReadYourWrites) {
        self.database = database
        self.replicasOnly = replicasOnly
        self.readYourWrites = readYourWrites
    }

    /// The host the current or last transaction went to.
    var host = 0
    /// The current transaction holds a place in its replica's outstanding count.
    var countsAsOutstanding = false
    /// The current transaction went to the primary because it may write.
    var mayWrite = false
    /// The WAL position the client's reads must see: its last write's, once learnt.
    var mustSee: UInt64 = 0
    /// Its last write's position is being asked for: reads go to the primary meanwhile.
    var learningWritePosition = false
    /// While a read waits for a replica to catch up: when it gives up and takes the primary.
    var catchUpDeadline: Double?
}
