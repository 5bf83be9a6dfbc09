/// Where a transaction may run when reads and writes are split.
public enum Route: Sendable, Equatable {
    case primary
    /// Any replica that is healthy (and has replayed the client's writes, when that matters).
    case replica
}

/// Decides from the text of a transaction's first statement whether it can run on a replica:
/// only when it certainly reads and writes nothing. Anything it cannot be sure of goes to the
/// primary.
///
/// A replica gets a query whose statements all read: SELECT, WITH, VALUES, TABLE, SHOW, a
/// parenthesised SELECT, EXPLAIN of one of these, COPY ... TO, or a BEGIN / START TRANSACTION
/// that says READ ONLY (COMMIT, END, ROLLBACK and ABORT may come along). Even then the primary
/// gets it when any word of it, at any depth, is INSERT, UPDATE, DELETE, MERGE or INTO (which
/// covers data-modifying CTEs, SELECT INTO and FOR UPDATE), when it locks rows (FOR SHARE, FOR
/// KEY SHARE), calls a writing function, carries the hint `sluice:primary`, or ends inside a
/// literal or comment.
public struct QueryRouteClassifier: Sendable {
    public let writingFunctions: WritingFunctions

    public init(writingFunctions: WritingFunctions) {
        self.writingFunctions = writingFunctions
    }

    /// The hint that sends a query to the primary, searched in the raw text.
    static let primaryHint = Array("sluice:primary".utf8)

    /// The route of a query's text (without a terminating zero byte).
    public func route(_ text: [UInt8]) -> Route {
        guard !Self.contains(text, Self.primaryHint) else { return .primary }
        var lexer = SQLLexer(text)
        var statement = StatementState()
        var anyReadStatement = false
        var previous: SQLLexer.Token?
        var depth = 0
        while let token = lexer.next() {
            guard token.isComplete else { return .primary }
            if lexer.symbol(token) == UInt8(ascii: ";") && depth == 0 {
                switch statement.finish() {
                case .write: return .primary
                case .read: anyReadStatement = true
                case .neutral: break
                }
                statement = StatementState()
                previous = nil
                continue
            }
            if token.kind == .word && writes(token, after: previous, lexer) { return .primary }
            if lexer.symbol(token) == UInt8(ascii: "("), let previous, callsWritingFunction(previous, lexer) { return .primary }
            statement.take(token, depth: depth, lexer)
            if lexer.symbol(token) == UInt8(ascii: "(") { depth += 1 }
            if lexer.symbol(token) == UInt8(ascii: ")") { depth = max(0, depth - 1) }
            previous = token
        }
        guard lexer.endedCleanly else { return .primary }
        switch statement.finish() {
        case .write: return .primary
        case .read: anyReadStatement = true
        case .neutral: break
        }
        return anyReadStatement ? .replica : .primary
    }

    /// A word that makes any statement a write, or FOR SHARE / FOR KEY SHARE after FOR.
    private func writes(_ token: SQLLexer.Token, after previous: SQLLexer.Token?, _ lexer: SQLLexer) -> Bool {
        switch token.range.count {
        case 4: if lexer.isWord(token, "into") { return true }
        case 5: if lexer.isWord(token, "merge") || lexer.isWord(token, "share") && Self.isFor(previous, lexer) { return true }
        case 6: if lexer.isWord(token, "insert") || lexer.isWord(token, "update") || lexer.isWord(token, "delete") { return true }
        case 3: if lexer.isWord(token, "key") && Self.isFor(previous, lexer) { return true }
        default: break
        }
        return false
    }

    private static func isFor(_ token: SQLLexer.Token?, _ lexer: SQLLexer) -> Bool {
        token.map { lexer.isWord($0, "for") } ?? false
    }

    /// True when `name`, followed by `(`, names a writing function.
    private func callsWritingFunction(_ name: SQLLexer.Token, _ lexer: SQLLexer) -> Bool {
        guard name.kind == .word || name.kind == .quotedIdentifier, let identifier = lexer.identifier(name) else { return false }
        return writingFunctions.matches(name.kind == .word ? identifier : identifier.lowercased())
    }

    private static func contains(_ text: [UInt8], _ needle: [UInt8]) -> Bool {
        guard text.count >= needle.count else { return false }
        let first = needle[0]
        var index = 0
        let last = text.count - needle.count
        while index <= last {
            if text[index] == first && text[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}

/// What one statement of a query is, read from its leading words as they come.
private struct StatementState {
    enum Kind {
        case read
        case write
        /// COMMIT, END, ROLLBACK, ABORT: no reason to prefer either side.
        case neutral
    }

    private enum Phase {
        case start
        /// After EXPLAIN and its options: the explained statement's first word is next.
        case explaining
        /// BEGIN or START: READ ONLY decides.
        case beginning(sawRead: Bool)
        /// COPY: the first FROM or TO at the statement's own depth decides.
        case copying
        case decided(Kind)
    }

    private var phase = Phase.start
    private var readOnly = false

    mutating func take(_ token: SQLLexer.Token, depth: Int, _ lexer: SQLLexer) {
        switch phase {
        case .start:
            phase = Self.firstWord(token, lexer)
        case .explaining:
            // Options: EXPLAIN (ANALYZE, FORMAT JSON) or EXPLAIN ANALYZE VERBOSE.
            guard depth == 0, lexer.symbol(token) != UInt8(ascii: "("), lexer.symbol(token) != UInt8(ascii: ")"),
                  !lexer.isWord(token, "analyze"), !lexer.isWord(token, "analyse"), !lexer.isWord(token, "verbose") else { return }
            let explained = Self.firstWord(token, lexer)
            if case .decided(.read) = explained { phase = explained } else { phase = .decided(.write) }
        case .beginning(let sawRead):
            if sawRead && lexer.isWord(token, "only") { readOnly = true }
            phase = .beginning(sawRead: lexer.isWord(token, "read"))
        case .copying:
            guard depth == 0 else { return }
            if lexer.isWord(token, "from") { phase = .decided(.write) }
            if lexer.isWord(token, "to") { phase = .decided(.read) }
        case .decided:
            break
        }
    }

    private static func firstWord(_ token: SQLLexer.Token, _ lexer: SQLLexer) -> Phase {
        if lexer.symbol(token) == UInt8(ascii: "(") { return .decided(.read) }
        guard token.kind == .word else { return .decided(.write) }
        switch token.range.count {
        case 3:
            if lexer.isWord(token, "end") { return .decided(.neutral) }
        case 4:
            if lexer.isWord(token, "with") || lexer.isWord(token, "show") { return .decided(.read) }
            if lexer.isWord(token, "copy") { return .copying }
        case 5:
            if lexer.isWord(token, "table") { return .decided(.read) }
            if lexer.isWord(token, "begin") || lexer.isWord(token, "start") { return .beginning(sawRead: false) }
            if lexer.isWord(token, "abort") { return .decided(.neutral) }
        case 6:
            if lexer.isWord(token, "select") || lexer.isWord(token, "values") { return .decided(.read) }
            if lexer.isWord(token, "commit") { return .decided(.neutral) }
        case 7:
            if lexer.isWord(token, "explain") { return .explaining }
        case 8:
            if lexer.isWord(token, "rollback") { return .decided(.neutral) }
        default:
            break
        }
        return .decided(.write)
    }

    func finish() -> Kind {
        switch phase {
        case .decided(let kind): kind
        case .beginning: readOnly ? .read : .write
        case .start: .neutral
        case .explaining, .copying: .write
        }
    }
}

/// The functions whose call makes a query a write (writing_functions, whose defaults are in
/// `SluiceConfig`): names, and prefixes written with a final `*`, matched without regard to case.
public struct WritingFunctions: Sendable, Equatable {
    private let names: Set<String>
    private let prefixes: [String]

    public init(patterns: [String]) {
        let lowered = patterns.map { $0.lowercased() }
        names = Set(lowered.filter { !$0.hasSuffix("*") })
        prefixes = lowered.filter { $0.hasSuffix("*") }.map { String($0.dropLast()) }
    }

    /// True for a function name (already in lower case) on the list.
    public func matches(_ name: String) -> Bool {
        names.contains(name) || prefixes.contains { name.hasPrefix($0) }
    }
}
