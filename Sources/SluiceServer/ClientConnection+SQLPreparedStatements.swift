import PostgresWire
import SluiceCore

/// SQL-level PREPARE, EXECUTE and DEALLOCATE in transaction and statement mode
/// (`sql_prepared_statements`). Like Parse and Bind, each client name maps to a statement
/// Sluice names itself, shared by every client preparing the same text, and prepared on a
/// server the first time a client needs it there, in front of the client's own statement in
/// the same Query (`RewrittenQuery` hides the answers to what Sluice put there):
///
/// - `PREPARE name ...` becomes `PREPARE sluice_N ...`; when the server already has it,
///   `DEALLOCATE sluice_N; PREPARE sluice_N ...`, so the client gets a fresh plan and
///   PostgreSQL's own answer, whatever the transaction state.
/// - `EXECUTE name ...` becomes `EXECUTE sluice_N ...`, after `PREPARE sluice_N ...` when the
///   server lacks it.
/// - `DEALLOCATE name` only forgets the client's name; the server answers a DEALLOCATE of a
///   throwaway statement, so the client sees PostgreSQL's answer (an error in a failed
///   transaction, which keeps the name).
///
/// These names are a namespace apart from the protocol-level ones: a statement prepared with
/// PREPARE is not found by a Bind, nor one prepared with Parse by EXECUTE.
extension ClientConnection {
    /// The statement Sluice prepares and drops again to answer a client's DEALLOCATE.
    static let throwawayStatement = "sluice_deallocate"

    /// Maps a Query that is one PREPARE, EXECUTE or DEALLOCATE; nil for any other query.
    func mapSQLStatement(_ body: MessageBody, server: ServerConnection) -> MessageStream.Verdict? {
        guard body.count == body.length, Self.mayBeSQLStatementCommand(body),
              let command = SQLPreparedCommand(body.copy(0..<max(0, body.count - 1))) else { return nil }
        let messageLength = 1 + 4 + body.length
        switch command {
        case .prepare(let name, let definition):
            return sqlPrepare(name, definition, messageLength: messageLength, server: server)
        case .execute(let name, let arguments):
            guard let statement = sqlStatements[name] else { return nil }
            return sqlExecute(statement, arguments, messageLength: messageLength, server: server)
        case .deallocate(let name):
            guard let statement = sqlStatements.removeValue(forKey: name) else { return nil }
            let throwaway = Self.throwawayStatement
            server.responses.sent(.rewrittenQuery(RewrittenQuery(
                hiddenCompletions: 1, undo: ClientNameUndo(name: name, previous: statement, isSQL: true))))
            return .replace(FrontendMessage.query("PREPARE \(throwaway) AS SELECT; DEALLOCATE \(throwaway)"), count: messageLength)
        }
    }

    private func sqlPrepare(_ name: String, _ definition: [UInt8], messageLength: Int, server: ServerConnection) -> MessageStream.Verdict {
        if let existing = sqlStatements[name] {
            // PostgreSQL refuses a name prepared twice: have the server refuse the statement it holds.
            let (added, hidden) = sqlEnsurePrepared(existing, on: server)
            server.responses.sent(hidden == 0 ? .query : .rewrittenQuery(RewrittenQuery(hiddenCompletions: hidden)))
            return .replace(Self.query(added, "PREPARE \(existing.serverName)", definition), count: messageLength)
        }
        let statement = worker.registeredStatement(definition, sql: true)
        sqlStatements[name] = statement
        var closing: [UInt8] = []
        var dropping = ""
        if server.statements.use(statement) {
            worker.statementCounts.hits += 1
            dropping = "DEALLOCATE \(statement.serverName); "
        } else {
            worker.statementCounts.prepares += 1
            closing = evictIfFull(server, for: statement)
        }
        let hidden = dropping.isEmpty ? 0 : 1
        server.responses.sent(.rewrittenQuery(RewrittenQuery(hiddenCompletions: hidden, creates: statement, createdAfter: hidden,
                                                             undo: ClientNameUndo(name: name, previous: nil, isSQL: true))))
        return .replace(closing + Self.query(dropping, "PREPARE \(statement.serverName)", definition), count: messageLength)
    }

    private func sqlExecute(_ statement: PreparedStatement, _ arguments: [UInt8], messageLength: Int,
                            server: ServerConnection) -> MessageStream.Verdict {
        let (added, hidden) = sqlEnsurePrepared(statement, on: server)
        server.responses.sent(hidden == 0 ? .query : .rewrittenQuery(RewrittenQuery(hiddenCompletions: hidden, creates: statement)))
        return .replace(Self.query(added, "EXECUTE \(statement.serverName)", arguments), count: messageLength)
    }

    /// What prepares `statement` on `server` first, if it lacks it: a Close of the statement it
    /// evicts and a PREPARE to put in front of the client's statement, which then has one
    /// hidden CommandComplete.
    private func sqlEnsurePrepared(_ statement: PreparedStatement, on server: ServerConnection) -> (added: Added, hidden: Int) {
        guard !server.statements.use(statement) else { return (Added(), 0) }
        worker.statementCounts.reprepares += 1
        let closing = evictIfFull(server, for: statement)
        return (Added(closing: closing, statements: "PREPARE \(statement.serverName)" + String(decoding: statement.definition, as: UTF8.self) + "; "), 1)
    }

    /// What goes to the server before the client's own statement.
    struct Added {
        /// Protocol messages ahead of the Query (a Close that makes room).
        var closing: [UInt8] = []
        /// Statements ahead of the client's in the same Query.
        var statements = ""
    }

    private static func query(_ added: Added, _ command: String, _ rest: [UInt8]) -> [UInt8] {
        added.closing + query(added.statements, command, rest)
    }

    private static func query(_ statements: String, _ command: String, _ rest: [UInt8]) -> [UInt8] {
        FrontendMessage.query(statements + command + String(decoding: rest, as: UTF8.self))
    }

    /// True unless the query's first byte rules out PREPARE, EXECUTE and DEALLOCATE (a comment
    /// may come first), so that other queries are not copied.
    private static func mayBeSQLStatementCommand(_ body: MessageBody) -> Bool {
        var start = 0
        while start < body.count, isWhitespace(body.byte(at: start)) { start += 1 }
        guard start < body.count else { return false }
        let byte = body.byte(at: start)
        switch byte | 0x20 {
        case UInt8(ascii: "p"), UInt8(ascii: "e"), UInt8(ascii: "d"): return true
        default: return byte == UInt8(ascii: "/") || byte == UInt8(ascii: "-")
        }
    }
}
