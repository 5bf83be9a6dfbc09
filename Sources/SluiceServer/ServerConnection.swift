import Logging
import PostgresWire
import SluiceCore
import SluiceIO

/// One connection to PostgreSQL: logging in, idle in its pool, running a query of Sluice's own
/// (connect_query, parameter sync, reset), or linked to a client whose traffic it carries.
/// It belongs to one worker at a time: the one whose loop watches its socket, which is always
/// its linked client's (see `Worker.handOver`).
final class ServerConnection: ConnectionDelegate {
    enum State {
        case connecting
        /// An SSLRequest went out; PostgreSQL answers `S` or `N`. The startup packet waits.
        case requestingTLS(ServerLogin, startup: [UInt8])
        /// TLS handshake under way; the startup packet goes once it completes.
        case securing(ServerLogin, startup: [UInt8])
        case loggingIn(ServerLogin)
        /// Running Sluice's own query; `completion` gets the first error, if any, at ReadyForQuery.
        case internalQuery(firstError: ErrorFields?, completion: (ErrorFields?) -> Void)
        case idle
        case linked(ClientConnection)
        case closed
    }

    let id: ServerID
    let poolKey: PoolKey
    let address: String
    private(set) var connection: Connection?
    /// Changed only when the server moves to another worker, between two links. Unchecked, as
    /// `ClientConnection.worker` is: workers outlive every connection.
    unowned(unsafe) var worker: Worker
    var state = State.connecting
    /// The parameters PostgreSQL reported, kept current from every ParameterStatus.
    var parameters: [StartupParameter] = []
    /// The tracked settings as the server has them now, by position in the pooler's
    /// `TrackedParameters`: reported ones from ParameterStatus, others from Sluice's own SETs.
    var trackedValues: [String?] = []
    /// The pool's defaults for the same settings (what its first server reported), kept here so
    /// a checkout needs no pool lookup: a client that set nothing is brought back to these.
    var defaultValues: [String?] = []
    var backendKey = BackendKey(processID: 0, secretKey: 0)
    var transactionStatus = TransactionStatus.idle
    /// What the server still owes its client: ReadyForQuerys, a Sync, COPY data.
    var exchange = ServerExchange()
    /// True after a read that ended inside a message being forwarded to the client. Kept apart
    /// from `stream`, which callbacks must not read while a scan runs.
    private(set) var isMidMessage = false
    /// CancelRequests sent for this server that PostgreSQL has not taken yet.
    var cancelsInFlight = 0
    var stream = MessageStream()
    /// What the server has yet to answer, while its client's named statements are mapped.
    var responses = PendingResponses()
    /// The statements Sluice has prepared on this server for clients.
    var statements: ServerStatementCache
    /// What went to the server since it last answered everything, should a stale plan make
    /// Sluice send it again.
    var staleRetry = StaleStatementRetry()
    /// How to handle the server message being read, decided from its header.
    private var pendingHandling: PendingResponses.Handling?
    var connectTimer: TimerID?
    let createdAt = MonotonicClock.now()
    /// When it was opened, for SHOW SERVERS.
    let connectedAt = WallClock.now()
    /// When the server last went back to its pool.
    var idleSince = MonotonicClock.now()
    /// When the server last went from having answered everything to working on a request.
    var busySince = MonotonicClock.now()
    /// When the transaction it runs began (its first request outside a transaction).
    private var transactionStartedAt = MonotonicClock.now()
    let host: String
    let port: Int
    /// The address connected to, once the host is resolved (nil for a Unix socket).
    private(set) var remote: ResolvedAddress?
    /// Set by RECONNECT, by a reload that changed its database's connection settings and when
    /// its host's address changed: the server is closed when next released, not reused.
    var closeNeeded = false
    /// Set for a connection that watches a primary or replica (`ReplicaWatch`): it belongs to
    /// no pool and reports to the watch instead.
    weak var watcher: ReplicaWatch?
    /// Gets each row of Sluice's own query, as its column values.
    private var internalRows: (([String?]) -> Void)?

    init(id: ServerID, poolKey: PoolKey, host: String, port: Int, worker: Worker) {
        self.id = id
        self.poolKey = poolKey
        self.host = host
        self.port = port
        self.address = host.hasPrefix("/") ? "\(host)/.s.PGSQL.\(port)" : "\(host):\(port)"
        self.worker = worker
        statements = ServerStatementCache(capacity: worker.configuration.settings.maxPreparedStatements)
    }

    var logger: Logger { worker.logger }
    var label: String { "\(id) \(poolKey) \(address)" }

    var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    /// Resolves the host, then starts the non-blocking connect; failures, the lookup's
    /// included, arrive through `fail`. server_connect_timeout counts from here.
    func open(login: ServerLogin, startupMessage: [UInt8], timeout: Double) {
        // The callbacks hold the server strongly (until the timer is cancelled or the lookup
        // answers): a weak reference would give it a side table, slowing every retain and
        // release of it for its whole life.
        if timeout > 0 {
            connectTimer = worker.loop.schedule(after: timeout) { [self] in
                fail(ErrorFields(code: SQLState.connectionFailure, message: "server connect timeout"), unreachable: true)
            }
        }
        guard !host.hasPrefix("/") else {
            connect(login: login, startupMessage: startupMessage) { try Connection.connect(host: host, port: port, loop: worker.loop) }
            return
        }
        worker.resolve(host) { [self] answer in
            guard case .connecting = state else { return }
            connect(login: login, startupMessage: startupMessage, to: answer)
        }
    }

    private func connect(login: ServerLogin, startupMessage: [UInt8], to answer: HostCache.Answer) {
        switch answer {
        case .failure(let reason):
            fail(ErrorFields(code: SQLState.connectionFailure, message: "server connection failed: cannot resolve \(host): \(reason)"))
        case .addresses(let hosts):
            let addresses = hosts.compactMap { Socket.numericAddress($0, port: port) }
            connect(login: login, startupMessage: startupMessage) {
                let (connection, address) = try Connection.connect(to: addresses, loop: worker.loop)
                remote = address
                return connection
            }
        }
    }

    private func connect(login: ServerLogin, startupMessage: [UInt8], _ make: () throws -> Connection) {
        let connection: Connection
        do {
            connection = try make()
        } catch {
            fail(ErrorFields(code: SQLState.connectionFailure, message: "server connection failed: \(error)"), unreachable: true)
            return
        }
        connection.delegate = self
        self.connection = connection
        if worker.tls.server != nil && !host.hasPrefix("/") {
            state = .requestingTLS(login, startup: startupMessage)
            connection.send(StartupPacket.sslRequestPacket)
        } else {
            state = .loggingIn(login)
            connection.send(startupMessage)
        }
    }

    func connectionEstablished(_ connection: Connection) {}

    func connectionReadable(_ connection: Connection) {
        guard let input = connection.input else { return }
        switch state {
        case .requestingTLS(let login, let startup): answerToSSLRequest(input, login, startup)
        case .securing(let login, let startup): handshakeProgressed(login, startup)
        case .loggingIn: continueLogin(input)
        case .internalQuery: readInternalReply(input)
        case .linked(let client): forwardToClient(client, input)
        case .idle: readWhileIdle(input)
        case .connecting, .closed: break
        }
    }

    func connectionDrained(_ connection: Connection) {
        if case .linked(let client) = state { client.connection.resumeReading() }
    }

    func connectionClosed(_ connection: Connection, reason: ConnectionCloseReason) {
        let cause = connection.securityError.map { "TLS: \($0)" } ?? "\(reason)"
        fail(ErrorFields(code: SQLState.connectionFailure, message: "server connection failed: \(cause)"),
             unreachable: connection.securityError == nil)
    }

    /// Counts what the client sends, to know when the server has answered everything.
    /// Returns false for a Sync the server ignores (sent during COPY FROM STDIN).
    @inline(__always)
    func noteClientMessage(_ type: UInt8) -> Bool {
        let wasAnswered = exchange.awaitingReady == 0
        let answered = exchange.clientSent(type)
        if wasAnswered && exchange.awaitingReady > 0 { becameBusy() }
        return answered
    }

    private func becameBusy() {
        busySince = MonotonicClock.now()
        if transactionStatus == .idle { transactionStartedAt = busySince }
    }

    /// True when the server has answered everything and sits outside a transaction, with no
    /// message of its own half forwarded: what it sends next belongs to whoever gets it next.
    var isClean: Bool {
        exchange.isSettled && transactionStatus == .idle && !isMidMessage && responses.isEmpty
    }

    /// Forwards PostgreSQL's replies, noting ReadyForQuery and ParameterStatus on the way, and
    /// matching them to the requests sent while the client's named statements are mapped.
    private func forwardToClient(_ client: ClientConnection, _ input: IOBuffer) {
        var blocked = false
        var sent = 0
        var readyForQuery = false
        let outcome = stream.scan(input, decide: { type, length in
            if client.mapsStatements {
                if self.staleRetry.isWatching {
                    if self.staleRetry.wantsWhole(type) { return .whole }
                    self.staleRetry.received(type)
                }
                if self.matchToRequests(type, client) { return .whole }
            }
            switch type {
            case BackendMessageType.readyForQuery, BackendMessageType.parameterStatus, BackendMessageType.errorResponse: return .whole
            case BackendMessageType.commandComplete:
                // Only a tag as long as DISCARD ALL's or DEALLOCATE ALL's is read.
                return client.mapsStatements && (length == 16 || length == 19) ? .whole : .pass
            case BackendMessageType.copyInResponse:
                let ignoredSyncs = self.exchange.serverStartedCopyIn()
                if client.mapsStatements { self.responses.strikeSyncs(ignoredSyncs) }
                return .pass
            default: return .pass
            }
        }, inspect: { type, body in
            if client.mapsStatements, self.staleRetry.isWatching, let verdict = self.retryStalePipeline(type, body, client) {
                return verdict
            }
            if type == BackendMessageType.readyForQuery {
                readyForQuery = true
                self.noteReadyForQuery(body.firstByte, counting: client.counters)
                if client.mapsStatements { self.pipelineEnded() }
            } else if type == BackendMessageType.parameterStatus, let parameter = self.noteParameterStatus(body.bytes) {
                client.remember(parameter)
            } else if type == BackendMessageType.commandComplete {
                if client.mapsStatements, StatementReset.isReset(count: body.count, byte: body.byte(at:)) {
                    client.statementsDropped(on: self)
                }
            } else if type == BackendMessageType.errorResponse {
                self.exchange.serverSentError()
                client.counters?.errorSent(code: ErrorFields(body: body.bytes)?.code ?? SQLState.internalError)
            }
            guard let handling = self.pendingHandling else { return .forward }
            self.pendingHandling = nil
            return handling.forward ? .forwardThen(handling.synthetic) : .replace(handling.synthetic, count: 5 + body.length)
        }, forward: { offset, count in
            sent += count
            if !client.connection.send(from: input, offset: offset, count: count) { blocked = true }
        }, insert: { bytes in
            if !bytes.isEmpty, !client.connection.send(bytes) { blocked = true }
        })
        isMidMessage = stream.remainingPassThrough > 0
        client.counters?.bytesSent += sent
        if blocked { connection?.pauseReading() }
        switch outcome {
        case .malformed, .tooLarge, .exceedsMaximum:
            fail(ErrorFields(code: SQLState.protocolViolation, message: "invalid message from server"))
            return
        case .needsRoom(let size):
            connection?.enlargeInput(toHold: size)
        case .consumed, .stopped:
            break
        }
        if readyForQuery { worker.readyForQuery(client, self) }
    }

    /// Matches a message to the request it answers (`PendingResponses`); true when its handling
    /// (kept in `pendingHandling`) needs the message whole.
    @inline(__always)
    private func matchToRequests(_ type: UInt8, _ client: ClientConnection) -> Bool {
        let handling = responses.received(type)
        for statement in handling.notCreated { statements.remove(statement) }
        client.undoStatementNames(handling.clientNamesUndone)
        guard !handling.forward || !handling.synthetic.isEmpty else { return false }
        pendingHandling = handling
        return true
    }

    /// Handles the stale-plan error `StaleStatementRetry` retries, the ReadyForQuery after it
    /// and a repeated ParameterDescription; nil for every other message. The error is dropped;
    /// at the ReadyForQuery the statement is closed and prepared again, and the pipeline sent
    /// again.
    private func retryStalePipeline(_ type: UInt8, _ body: MessageBody, _ client: ClientConnection) -> MessageStream.Verdict? {
        if type == BackendMessageType.parameterDescription && staleRetry.repeatsParameterDescription {
            staleRetry.skippedParameterDescription()
            return .drop
        }
        if type == BackendMessageType.readyForQuery && staleRetry.awaitsReadyForQuery {
            guard let (statement, pipeline) = staleRetry.takeRetry() else { return nil }
            worker.statementCounts.staleRetries += 1
            responses.resend(behind: [.answered(hidden: true, creates: nil, clientName: nil),
                                      .answered(hidden: true, creates: statement, clientName: nil)])
            connection?.send(ExtendedQueryMessage.closeStatement(statement.serverName)
                + ExtendedQueryMessage.parse(name: statement.serverName, definition: statement.definition) + pipeline)
            return .drop
        }
        guard type == BackendMessageType.errorResponse, staleRetry.mayRetry else { return nil }
        if staleRetry.retries(after: ErrorFields(body: body.bytes), pending: responses) { return .drop }
        staleRetry.received(type)
        _ = matchToRequests(type, client)
        return nil
    }

    /// After a ReadyForQuery: a server that answered everything outside a transaction starts a
    /// pipeline that may be sent again; anything else cannot be.
    private func pipelineEnded() {
        if exchange.awaitingReady == 0 && transactionStatus == .idle { staleRetry.restart() } else { staleRetry.stop() }
    }

    /// `counters`: the linked client's, which count the query and, when this ends one, the
    /// transaction.
    private func noteReadyForQuery(_ status: UInt8?, counting counters: TrafficCounters? = nil) {
        transactionStatus = status.flatMap(TransactionStatus.init(rawValue:)) ?? .failed
        counters?.queries += 1
        guard exchange.serverReady() else { return }
        let now = MonotonicClock.now()
        if let counters {
            counters.queryMicroseconds += Int((now - busySince) * 1_000_000)
            if transactionStatus == .idle { counters.transactionEnded(seconds: now - transactionStartedAt) }
        }
        busySince = now
    }

    /// Records a reported parameter and returns it.
    @discardableResult
    private func noteParameterStatus(_ body: [UInt8]) -> StartupParameter? {
        guard let parameter = BackendMessage.decodeParameterStatus(body) else { return nil }
        parameters.record(parameter)
        if let index = worker.trackedParameters.index(of: parameter.name), index < trackedValues.count {
            trackedValues[index] = parameter.value
        }
        return parameter
    }

    /// Notes ReadyForQuery and ParameterStatus in Sluice's own conversations with the server.
    private func observe(_ type: UInt8, _ body: [UInt8]) {
        if type == BackendMessageType.readyForQuery {
            noteReadyForQuery(body.first)
        } else if type == BackendMessageType.parameterStatus {
            noteParameterStatus(body)
        }
    }

    /// An idle server may still send a notice or a parameter change; an error means it is going away.
    private func readWhileIdle(_ input: IOBuffer) {
        _ = stream.readWhole(input) { type, body in
            observe(type, body)
            if type == BackendMessageType.errorResponse {
                fail(ErrorFields(body: body) ?? ErrorFields(code: SQLState.adminShutdown, message: "server closed the connection"))
                return .stop
            }
            return .drop
        }
    }

    /// Ends the link with a client. The server reads again even if its client's backpressure
    /// had paused it: idle, it must notice a close, and Sluice's own queries need their replies.
    func unlink() {
        state = .idle
        connection?.resumeReading()
    }

    /// Runs a query of Sluice's own; its replies are consumed here, never forwarded.
    /// Runs one of Sluice's own queries; `rows` gets each row it returns.
    func runInternal(_ sql: String, rows: (([String?]) -> Void)? = nil, completion: @escaping (ErrorFields?) -> Void) {
        state = .internalQuery(firstError: nil, completion: completion)
        internalRows = rows
        connection?.send(FrontendMessage.query(sql))
    }

    private func readInternalReply(_ input: IOBuffer) {
        let outcome = stream.readWhole(input) { type, body in
            guard case .internalQuery(let firstError, let completion) = state else { return .stop }
            switch type {
            case BackendMessageType.errorResponse:
                let error = ErrorFields(body: body) ?? ErrorFields(code: SQLState.internalError, message: "query failed")
                state = .internalQuery(firstError: firstError ?? error, completion: completion)
            case BackendMessageType.dataRow:
                internalRows?(BackendMessage.decodeDataRow(body))
            case BackendMessageType.commandComplete:
                if StatementReset.isReset(count: body.count, byte: { body[$0] }) { statements.removeAll() }
            case BackendMessageType.readyForQuery:
                observe(type, body)
                state = .idle
                internalRows = nil
                completion(firstError)
                return .dropAndStop
            case BackendMessageType.copyInResponse:
                connection?.send(FrontendMessage.copyFail("Sluice does not feed COPY in its own queries"))
            default:
                observe(type, body)
            }
            return .drop
        }
        if outcome == .malformed {
            fail(ErrorFields(code: SQLState.protocolViolation, message: "invalid message from server"))
        }
    }

    /// Closes the connection and tells whoever depends on it. `unreachable`: the server could
    /// not be connected to, or the connection broke (not a refusal, nor a TLS failure).
    func fail(_ error: ErrorFields, unreachable: Bool = false) {
        let previous = state
        guard !previous.isClosed else { return }
        close()
        logger.notice("\(label) closed: \(error.message)")
        if let watcher {
            watcher.serverLost(self)
            return
        }
        switch previous {
        case .connecting, .requestingTLS, .securing, .loggingIn:
            worker.serverOpenFailed(self, error: error, unreachable: unreachable)
        case .linked(let client):
            worker.serverRemoved(self)
            guard !isMidMessage else {
                // Part of a message went to the client: an error written after it would be read
                // as the rest of that message. Only closing is safe.
                logger.warning("\(client.label) closing because: server connection closed unexpectedly in the middle of a message")
                client.finish(reason: "server connection closed unexpectedly", logged: true)
                return
            }
            client.reject(ErrorFields(code: SQLState.adminShutdown, message: "server connection closed unexpectedly", detail: error.message))
        case .internalQuery(_, let completion):
            worker.serverRemoved(self)
            completion(error)
        case .idle:
            worker.serverRemoved(self)
        case .closed:
            break
        }
    }

    /// Closes the socket, politely when the server is not mid-conversation.
    func close() {
        if let connectTimer { worker.loop.cancel(connectTimer) }
        connectTimer = nil
        if case .idle = state { connection?.send(FrontendMessage.terminate) }
        state = .closed
        connection?.close()
    }
}

extension ServerConnection.State {
    var isClosed: Bool {
        if case .closed = self { return true }
        return false
    }
}
