import PostgresWire
import SluiceCore

/// Named prepared statements in transaction and statement mode. A client's statement may be
/// needed on any server, so each client name maps to a statement Sluice names itself
/// (`sluice_N`, one per distinct definition, shared by every client), prepared on a server the
/// first time a client needs it there. The server is told Sluice's names; the client sees its
/// own, and the answers it would get from PostgreSQL for its own messages, in order
/// (`PendingResponses` hides the answers to what Sluice added and supplies those for what it
/// kept back).
extension ClientConnection {
    /// Longest start of a Bind that Sluice reads to find the statement name in it.
    static let bindNamesPrefix = 512

    /// How much of a client message the mapping needs to see; also notes what the server will
    /// answer for the messages passed through unseen.
    /// `fitsWhole`: the message is short enough to read whole. `answered`: false for a Sync
    /// the server ignores (during COPY FROM STDIN).
    func statementDecision(_ type: UInt8, fitsWhole: Bool, answered: Bool, server: ServerConnection) -> MessageStream.Decision {
        switch type {
        case FrontendMessageType.parse, FrontendMessageType.describe, FrontendMessageType.close:
            return .whole
        case FrontendMessageType.bind:
            return .prefix(Self.bindNamesPrefix)
        case FrontendMessageType.query:
            if mapsSQLStatements && fitsWhole { return .whole }
            server.responses.sent(.query)
        case FrontendMessageType.execute:
            server.responses.sent(.plain)
        case FrontendMessageType.sync:
            if answered { server.responses.sent(.sync) }
        case FrontendMessageType.functionCall:
            server.responses.sent(.query)
        default:
            break
        }
        return .pass
    }

    /// Rewrites a message that names a prepared statement.
    func mapStatements(_ type: UInt8, _ body: MessageBody, server: ServerConnection) -> MessageStream.Verdict {
        switch type {
        case FrontendMessageType.parse where body.firstByte != 0:
            guard let (name, definition) = ExtendedQueryMessage.decodeParse(body.bytes) else { return passOn(server) }
            return prepare(name, Array(definition), messageLength: 1 + 4 + body.length, server: server)
        case FrontendMessageType.bind:
            return bind(body, server: server)
        case FrontendMessageType.describe, FrontendMessageType.close:
            guard body.firstByte == ExtendedQueryMessage.statementKind, body.count > 2,
                  let (_, name) = ExtendedQueryMessage.decodeTarget(body.bytes) else { return passOn(server) }
            return type == FrontendMessageType.close ? close(name, server: server)
                : describe(name, messageLength: 1 + 4 + body.length, server: server)
        case FrontendMessageType.query:
            if let verdict = mapSQLStatement(body, server: server) { return verdict }
            server.responses.sent(.query)
            return .forward
        default:
            return passOn(server)
        }
    }

    /// A message sent unchanged that the server answers.
    private func passOn(_ server: ServerConnection) -> MessageStream.Verdict {
        server.responses.sent(.plain)
        return .forward
    }

    private func prepare(_ name: String, _ definition: [UInt8], messageLength: Int, server: ServerConnection) -> MessageStream.Verdict {
        if let existing = statements[name] {
            // PostgreSQL refuses a name prepared twice: have the server refuse the statement it holds.
            let added = ensurePrepared(existing, on: server)
            server.responses.sent(.plain)
            return .replace(added + ExtendedQueryMessage.parse(name: existing.serverName, definition: definition), count: messageLength)
        }
        let statement = worker.registeredStatement(definition)
        statements[name] = statement
        if server.statements.use(statement) {
            worker.statementCounts.hits += 1
            server.staleRetry.clientPrepared(statement)
            if let answer = server.responses.expect(ExtendedQueryMessage.parseComplete, undo: ClientNameUndo(name: name, previous: nil)) {
                connection.send(answer)
            }
            return .drop
        }
        worker.statementCounts.prepares += 1
        let closing = evictIfFull(server, for: statement)
        server.responses.sent(.answered(hidden: false, creates: statement, clientName: name))
        return .replace(closing + ExtendedQueryMessage.parse(name: statement.serverName, definition: definition), count: messageLength)
    }

    /// Bind names a portal, then a statement: only that start of the message is read and
    /// rewritten; the parameters pass through as they came.
    private func bind(_ body: MessageBody, server: ServerConnection) -> MessageStream.Verdict {
        guard let portalEnd = body.terminator(from: 0), let nameEnd = body.terminator(from: portalEnd + 1),
              nameEnd > portalEnd + 1 else { return passOn(server) }
        let name = String(decoding: body.copy((portalEnd + 1)..<nameEnd), as: UTF8.self)
        // An unknown name goes on unchanged: PostgreSQL then reports that it does not exist.
        guard let statement = statements[name] else { return passOn(server) }
        let added = ensurePrepared(statement, on: server)
        server.responses.sent(.plain)
        let start = ExtendedQueryMessage.bindPrefix(length: 4 + body.length, portal: body.copy(0..<portalEnd),
                                                    oldNameLength: nameEnd - portalEnd - 1, statement: statement.serverName)
        return .replace(added + start, count: 5 + nameEnd + 1)
    }

    private func describe(_ name: String, messageLength: Int, server: ServerConnection) -> MessageStream.Verdict {
        guard let statement = statements[name] else { return passOn(server) }
        let added = ensurePrepared(statement, on: server)
        server.responses.sent(.plain)
        return .replace(added + ExtendedQueryMessage.describeStatement(statement.serverName), count: messageLength)
    }

    /// Closing affects only this client's name; the shared statement stays on the servers.
    /// Closing a name that does not exist is no error in PostgreSQL either.
    private func close(_ name: String, server: ServerConnection) -> MessageStream.Verdict {
        let previous = statements.removeValue(forKey: name)
        let undo = previous.map { ClientNameUndo(name: name, previous: $0) }
        if let answer = server.responses.expect(ExtendedQueryMessage.closeComplete, undo: undo) {
            connection.send(answer)
        }
        return .drop
    }

    /// The messages that prepare `statement` on `server` first, if it lacks it; their answers
    /// are hidden from the client.
    private func ensurePrepared(_ statement: PreparedStatement, on server: ServerConnection) -> [UInt8] {
        guard !server.statements.use(statement) else {
            server.staleRetry.uses(statement)
            return []
        }
        worker.statementCounts.reprepares += 1
        let closing = evictIfFull(server, for: statement)
        server.responses.sent(.answered(hidden: true, creates: statement, clientName: nil))
        return closing + ExtendedQueryMessage.parse(name: statement.serverName, definition: statement.definition)
    }

    /// Records `statement` on the server; a Close for the least recently used one when that
    /// makes room.
    func evictIfFull(_ server: ServerConnection, for statement: PreparedStatement) -> [UInt8] {
        guard let evicted = server.statements.insert(statement) else { return [] }
        worker.statementCounts.evictions += 1
        server.responses.sent(.answered(hidden: true, creates: nil, clientName: nil))
        return ExtendedQueryMessage.closeStatement(evicted.serverName)
    }

    /// The server ran DISCARD ALL or DEALLOCATE ALL for this client (its CommandComplete
    /// says so): neither the client's names nor Sluice's statements exist there any more.
    func statementsDropped(on server: ServerConnection) {
        statements.removeAll()
        sqlStatements.removeAll()
        server.statements.removeAll()
    }

    /// Sets names back after a Parse or Close that failed or that PostgreSQL skipped.
    func undoStatementNames(_ undone: [ClientNameUndo]) {
        for undo in undone {
            if undo.isSQL { sqlStatements[undo.name] = undo.previous } else { statements[undo.name] = undo.previous }
        }
    }
}

func isWhitespace(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
}
