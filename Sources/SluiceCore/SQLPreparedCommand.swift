/// A simple Query that is one SQL-level PREPARE, EXECUTE or DEALLOCATE of a named statement,
/// which Sluice maps like a Parse or Bind when `sql_prepared_statements` is on.
///
/// Only a query holding exactly that one statement is recognised; anything else (several
/// statements, `EXPLAIN EXECUTE`, `DEALLOCATE ALL`, text ending inside a literal) is not, and
/// goes to PostgreSQL as written.
public enum SQLPreparedCommand: Equatable, Sendable {
    /// `PREPARE name <definition>`: the definition is everything after the name (parameter
    /// types and `AS statement`), as written, without a final semicolon.
    case prepare(name: String, definition: [UInt8])
    /// `EXECUTE name <arguments>`: the arguments are everything after the name, as written.
    case execute(name: String, arguments: [UInt8])
    /// `DEALLOCATE [PREPARE] name`.
    case deallocate(name: String)

    /// Recognises the command in a Query's text (without its terminating zero byte).
    public init?(_ text: [UInt8]) {
        var lexer = SQLLexer(text)
        guard let command = lexer.next(), let nameToken = lexer.next() else { return nil }
        var name = nameToken
        let isDeallocate = lexer.isWord(command, "deallocate")
        if isDeallocate, lexer.isWord(name, "prepare") {
            guard let next = lexer.next() else { return nil }
            name = next
        }
        guard let identifier = lexer.identifier(name), name.isComplete,
              !(isDeallocate && name.kind == .word && identifier == "all") else { return nil }
        // The rest must be one statement: at most a final semicolon, then nothing.
        var restEnd = name.range.upperBound
        var ended = false
        while let token = lexer.next() {
            guard !ended, token.isComplete else { return nil }
            if lexer.symbol(token) == UInt8(ascii: ";") {
                ended = true
            } else {
                restEnd = token.range.upperBound
            }
        }
        guard lexer.endedCleanly else { return nil }
        let rest = Array(text[name.range.upperBound..<restEnd])
        if lexer.isWord(command, "prepare"), !rest.isEmpty {
            self = .prepare(name: identifier, definition: rest)
        } else if lexer.isWord(command, "execute") {
            self = .execute(name: identifier, arguments: rest)
        } else if isDeallocate, rest.isEmpty {
            self = .deallocate(name: identifier)
        } else {
            return nil
        }
    }
}
