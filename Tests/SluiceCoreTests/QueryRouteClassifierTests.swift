import Foundation
import SluiceConfig
import Testing
@testable import SluiceCore

/// The read/write classifier against a corpus of statements with their expected route
/// (`Corpus/route-corpus.txt`: ORM-generated SQL, pgbench's, and tricky quoting), and the
/// rules that the corpus does not show by itself.
@Suite struct QueryRouteClassifierTests {
    let classifier = QueryRouteClassifier(writingFunctions: WritingFunctions(patterns: WritingFunctionDefaults.patterns))

    struct Entry: CustomStringConvertible {
        let line: Int
        let route: Route
        let sql: String
        var description: String { "line \(line): \(sql)" }
    }

    /// `route<TAB>sql` lines; `\n`, `\t` and `\\` in the SQL stand for a newline, a tab and a backslash.
    static func corpus() throws -> [Entry] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus/route-corpus.txt").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var entries: [Entry] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2, let route: Route = parts[0] == "replica" ? .replica : parts[0] == "primary" ? .primary : nil else {
                throw CorpusError(line: index + 1)
            }
            entries.append(Entry(line: index + 1, route: route, sql: unescape(parts[1])))
        }
        return entries
    }

    struct CorpusError: Error { let line: Int }

    static func unescape(_ text: Substring) -> String {
        var result = ""
        var escaping = false
        for character in text {
            if escaping {
                switch character {
                case "n": result.append("\n")
                case "t": result.append("\t")
                default: result.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        return result
    }

    @Test func everyCorpusStatementGetsItsRoute() throws {
        let entries = try Self.corpus()
        #expect(entries.count >= 300)
        #expect(entries.filter { $0.route == .replica }.count >= 100)
        #expect(entries.filter { $0.route == .primary }.count >= 100)
        for entry in entries {
            #expect(classifier.route(Array(entry.sql.utf8)) == entry.route, "\(entry)")
        }
    }

    @Test func theWritingFunctionsAreConfigurable() {
        let none = QueryRouteClassifier(writingFunctions: WritingFunctions(patterns: []))
        #expect(none.route(Array("SELECT nextval('s')".utf8)) == .replica)
        let custom = QueryRouteClassifier(writingFunctions: WritingFunctions(patterns: ["audit_*", "Touch"]))
        #expect(custom.route(Array("SELECT app.audit_read(1)".utf8)) == .primary)
        #expect(custom.route(Array("SELECT touch()".utf8)) == .primary)
        #expect(custom.route(Array("SELECT \"TOUCH\"()".utf8)) == .primary, "quoted names compare without case too")
        #expect(custom.route(Array("SELECT nextval('s')".utf8)) == .replica)
    }
}
