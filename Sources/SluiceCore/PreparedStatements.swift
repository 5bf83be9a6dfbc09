/// A statement some client prepared by name: its definition (the query text and parameter
/// types, as Parse carries them) and the one name Sluice gives it on every server, so that
/// clients preparing the same definition share it.
public final class PreparedStatement: Sendable, Equatable {
    /// What Parse carries after the name, or for SQL-level PREPARE the text after the name.
    public let definition: [UInt8]
    public let serverName: String

    public init(id: Int, definition: [UInt8]) {
        self.definition = definition
        serverName = "sluice_\(id)"
    }

    /// One object per statement (the registry's), so identity is equality.
    public static func == (lhs: PreparedStatement, rhs: PreparedStatement) -> Bool { lhs === rhs }
}

/// The CommandComplete tags after which a session holds no prepared statements: DISCARD ALL
/// and DEALLOCATE [PREPARE] ALL, however they were written (a leading comment, one statement
/// of several, the extended protocol). Only a statement that ran has a tag: a DISCARD ALL that
/// failed inside a transaction block leaves the statements in place, and so does Sluice.
public enum StatementReset {
    private static let tags: [[UInt8]] = [Array("DISCARD ALL\0".utf8), Array("DEALLOCATE ALL\0".utf8)]

    /// Whether a CommandComplete body of `count` bytes, read through `byte`, is such a tag.
    /// Looks at the first byte before anything else, so other tags cost one comparison.
    @inline(__always)
    public static func isReset(count: Int, byte: (Int) -> UInt8) -> Bool {
        guard count > 0, byte(0) == UInt8(ascii: "D") else { return false }
        return tags.contains { tag in tag.count == count && tag.indices.allSatisfy { tag[$0] == byte($0) } }
    }
}

/// Every distinct definition clients have prepared, each with its statement. Bounded: past
/// `limit` definitions it starts afresh (statements already handed out keep working; later
/// clients of an old definition just get a new name for it).
public struct StatementRegistry: Sendable {
    private struct Key: Hashable {
        let definition: [UInt8]
        let isSQL: Bool
    }

    private var statements: [Key: PreparedStatement] = [:]
    private var nextID = 0
    private let limit: Int

    public init(limit: Int = 10_000) { self.limit = limit }

    /// The statement for `definition`, from a Parse or, when `sql`, from SQL-level PREPARE.
    public mutating func statement(for definition: [UInt8], sql: Bool = false) -> PreparedStatement {
        let key = Key(definition: definition, isSQL: sql)
        if let statement = statements[key] { return statement }
        if statements.count >= limit { statements.removeAll(keepingCapacity: true) }
        nextID += 1
        let statement = PreparedStatement(id: nextID, definition: definition)
        statements[key] = statement
        return statement
    }
}

/// The statements prepared on one server connection, at most `capacity`, least recently used
/// evicted first (max_prepared_statements).
public struct ServerStatementCache: Sendable {
    public let capacity: Int
    private var entries: [String: (statement: PreparedStatement, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0

    public init(capacity: Int) { self.capacity = capacity }

    public var count: Int { entries.count }

    /// True if the server has `statement`; marks it used.
    public mutating func use(_ statement: PreparedStatement) -> Bool {
        guard entries[statement.serverName] != nil else { return false }
        clock += 1
        entries[statement.serverName]?.lastUse = clock
        return true
    }

    /// Records `statement` as prepared; returns the statement evicted to make room, which the
    /// caller closes on the server.
    public mutating func insert(_ statement: PreparedStatement) -> PreparedStatement? {
        var evicted: PreparedStatement?
        if entries[statement.serverName] == nil, entries.count >= capacity,
           let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            evicted = oldest.value.statement
            entries[oldest.key] = nil
        }
        clock += 1
        entries[statement.serverName] = (statement, clock)
        return evicted
    }

    /// The server does not have it after all (its Parse failed or was skipped).
    public mutating func remove(_ statement: PreparedStatement) {
        entries[statement.serverName] = nil
    }

    /// DISCARD ALL or DEALLOCATE ALL ran on the server.
    public mutating func removeAll() { entries.removeAll() }
}
