import PostgresWire

/// The requests a server has yet to answer while Sluice maps prepared statements, in the order
/// they were sent, so that Sluice can hide the answers to messages it added itself, answer for
/// the messages it kept back, and undo what a failed or skipped Parse would have created.
///
/// PostgreSQL answers requests in order. After an error in an extended-protocol message it
/// skips every message up to the next Sync, answering none of them; this mirrors that.
public struct PendingResponses: Sendable {
    public enum Request: Sendable, Equatable {
        /// A client's message the server answers as PostgreSQL would without Sluice: the common
        /// case, with nothing to hide or undo (kept apart so it carries no payload).
        case plain
        /// A message the server answers with one completion message (ParseComplete,
        /// BindComplete, CloseComplete, RowDescription or NoData, CommandComplete, ...) or an
        /// error. `hidden`: Sluice added it, so its answer is not the client's. `creates`: the
        /// statement a successful Parse puts on the server. `clientName`: the client's statement
        /// name that exists only if this succeeds.
        case answered(hidden: Bool, creates: PreparedStatement?, clientName: String?)
        /// The answer the client expects for a message Sluice kept from the server. `undo`: how
        /// to set the client's name back if PostgreSQL would have skipped the message.
        case synthetic([UInt8], undo: ClientNameUndo?)
        /// Query or FunctionCall: answered up to ReadyForQuery, skipped after an error.
        case query
        /// A client's SQL-level PREPARE, EXECUTE or DEALLOCATE as Sluice rewrote it, with
        /// statements of its own in front: answered up to ReadyForQuery.
        case rewrittenQuery(RewrittenQuery)
        /// Sync: answered by ReadyForQuery; ends the skipping after an error.
        case sync
    }

    /// What to do with one message from the server.
    public struct Handling: Sendable, Equatable {
        /// False for the answer to a message Sluice added.
        public var forward = true
        /// Answers to send the client right after this message, for messages Sluice kept back.
        public var synthetic: [UInt8] = []
        /// Statements the server turned out not to have: their Parse failed or was skipped.
        public var notCreated: [PreparedStatement] = []
        /// Client statement names to set back: their Parse or Close failed or was skipped.
        public var clientNamesUndone: [ClientNameUndo] = []

        public init(forward: Bool = true, synthetic: [UInt8] = [], notCreated: [PreparedStatement] = [],
                    clientNamesUndone: [ClientNameUndo] = []) {
            self.forward = forward
            self.synthetic = synthetic
            self.notCreated = notCreated
            self.clientNamesUndone = clientNamesUndone
        }
    }

    private var queue = FIFOQueue<Request>()
    /// CommandCompletes so far for the `rewrittenQuery` at the head, and whether it failed.
    private var headCompletions = 0
    private var headFailed = false

    public init() {}

    public var isEmpty: Bool { queue.isEmpty }

    /// A request went to the server.
    public mutating func sent(_ request: Request) {
        queue.append(request)
    }

    /// The client expects `answer` for a message Sluice kept back. Returns it when nothing
    /// sent earlier is still unanswered (send it now); otherwise it waits its turn.
    public mutating func expect(_ answer: [UInt8], undo: ClientNameUndo? = nil) -> [UInt8]? {
        guard !queue.isEmpty else { return answer }
        queue.append(.synthetic(answer, undo: undo))
        return nil
    }

    /// True when exactly one Sync waits, as the last request: nothing sent after it will answer.
    public var endsAtItsOnlySync: Bool {
        let requests = queue.elements
        return requests.last == .sync && requests.dropLast().allSatisfy {
            if case .plain = $0 { true } else if case .answered = $0 { true } else if case .synthetic = $0 { true } else { false }
        }
    }

    /// The server ignores the next `count` Syncs (sent during COPY FROM STDIN): they get no
    /// ReadyForQuery.
    public mutating func strikeSyncs(_ count: Int) {
        if count > 0 { queue.remove(first: count, of: .sync) }
    }

    /// The requests still waiting go to the server again, behind `first`.
    public mutating func resend(behind first: [Request]) {
        var requeued = FIFOQueue<Request>()
        for request in first + queue.removeAll() { requeued.append(request) }
        queue = requeued
    }

    /// A message of `type` arrived from the server.
    public mutating func received(_ type: UInt8) -> Handling {
        var handling = Handling()
        switch type {
        case BackendMessageType.noticeResponse, BackendMessageType.notificationResponse, BackendMessageType.parameterStatus:
            return handling
        default:
            break
        }
        guard let head = queue.first else { return handling }
        switch head {
        case .sync, .query:
            if type == BackendMessageType.readyForQuery {
                _ = queue.popFirst()
                releaseSynthetic(into: &handling)
            }
        case .plain, .answered:
            if type == BackendMessageType.errorResponse {
                _ = queue.popFirst()
                if case .answered(_, let creates, let clientName) = head { undo(creates, clientName, into: &handling) }
                skipToSync(into: &handling)
            } else if type == BackendMessageType.readyForQuery {
                // Answers went missing (nothing PostgreSQL does): treat what was pending as
                // skipped rather than misattribute later answers.
                skipToSync(into: &handling)
                _ = queue.popFirst()
            } else if Self.completes(type) {
                _ = queue.popFirst()
                if case .answered(true, _, _) = head { handling.forward = false }
                releaseSynthetic(into: &handling)
            }
        case .rewrittenQuery(let query):
            if type == BackendMessageType.readyForQuery {
                _ = queue.popFirst()
                headCompletions = 0
                headFailed = false
                releaseSynthetic(into: &handling)
            } else if type == BackendMessageType.errorResponse {
                if headCompletions == query.createdAfter, let creates = query.creates { handling.notCreated.append(creates) }
                if let undo = query.undo { handling.clientNamesUndone.append(undo) }
                headFailed = true
            } else if type == BackendMessageType.commandComplete, !headFailed {
                handling.forward = headCompletions >= query.hiddenCompletions
                headCompletions += 1
            }
        case .synthetic:
            // Never at the head: `releaseSynthetic` empties it from there whenever it gets there.
            releaseSynthetic(into: &handling)
            var rest = received(type)
            rest.synthetic = handling.synthetic + rest.synthetic
            return rest
        }
        return handling
    }

    /// The messages that end the answer to a request other than Sync or Query.
    private static func completes(_ type: UInt8) -> Bool {
        switch type {
        case BackendMessageType.parseComplete, BackendMessageType.bindComplete, BackendMessageType.closeComplete,
             BackendMessageType.noData, BackendMessageType.rowDescription, BackendMessageType.commandComplete,
             BackendMessageType.emptyQueryResponse, BackendMessageType.portalSuspended:
            true
        default:
            false
        }
    }

    private mutating func releaseSynthetic(into handling: inout Handling) {
        while case .synthetic(let answer, _) = queue.first {
            _ = queue.popFirst()
            handling.synthetic += answer
        }
    }

    /// After an error PostgreSQL answers nothing up to the next Sync.
    private mutating func skipToSync(into handling: inout Handling) {
        while let head = queue.first, head != .sync {
            _ = queue.popFirst()
            switch head {
            case .answered(_, let creates, let clientName): undo(creates, clientName, into: &handling)
            case .synthetic(_, let clientUndo): if let clientUndo { handling.clientNamesUndone.append(clientUndo) }
            case .plain, .query, .rewrittenQuery, .sync: break
            }
        }
    }

    private func undo(_ statement: PreparedStatement?, _ clientName: String?, into handling: inout Handling) {
        if let statement { handling.notCreated.append(statement) }
        if let clientName { handling.clientNamesUndone.append(ClientNameUndo(name: clientName, previous: nil)) }
    }
}

/// A client's statement name set back to what it named before a Parse, Close, PREPARE or
/// DEALLOCATE that did not happen: nothing (the name goes), or the statement it had.
public final class ClientNameUndo: Sendable, Equatable {
    public let name: String
    public let previous: PreparedStatement?
    /// The name is an SQL-level one (PREPARE), not a protocol-level one (Parse).
    public let isSQL: Bool

    public init(name: String, previous: PreparedStatement?, isSQL: Bool = false) {
        self.name = name
        self.previous = previous
        self.isSQL = isSQL
    }

    public static func == (lhs: ClientNameUndo, rhs: ClientNameUndo) -> Bool {
        lhs.name == rhs.name && lhs.previous === rhs.previous && lhs.isSQL == rhs.isSQL
    }
}

/// How Sluice rewrote a client's SQL-level PREPARE, EXECUTE or DEALLOCATE: statements of its
/// own go first in the same Query (a DEALLOCATE, or the PREPARE of a statement the server
/// lacks), whose CommandCompletes the client must not see. A class, so that a request in the
/// queue stays one reference wide.
public final class RewrittenQuery: Sendable, Equatable {
    /// How many CommandCompletes, from the first, answer Sluice's own statements.
    public let hiddenCompletions: Int
    /// The statement a PREPARE in the query puts on the server.
    public let creates: PreparedStatement?
    /// How many statements run before that PREPARE: an error after exactly that many
    /// completions is the PREPARE's own, and the server does not have the statement.
    public let createdAfter: Int
    /// The client's name to set back if the query fails.
    public let undo: ClientNameUndo?

    public init(hiddenCompletions: Int, creates: PreparedStatement? = nil, createdAfter: Int = 0, undo: ClientNameUndo? = nil) {
        self.hiddenCompletions = hiddenCompletions
        self.creates = creates
        self.createdAfter = createdAfter
        self.undo = undo
    }

    public static func == (lhs: RewrittenQuery, rhs: RewrittenQuery) -> Bool { lhs === rhs }
}
