/// One meaningful line of an INI file.
enum IniLine: Sendable, Equatable {
    /// `[name]`, with the name lowercased.
    case section(String)
    /// `key = value`; the key is unquoted but keeps its case, the value is trimmed.
    case entry(key: String, value: String)
}

/// A line together with where it was written.
struct IniItem: Sendable, Equatable {
    var line: IniLine
    var location: SourceLocation
}

/// Turns INI text into sections and entries with their file and line, expanding
/// `%include` directives in place the way PgBouncer does: the included file continues
/// in the current section, and a section it opens stays open after it ends.
enum IniReader {
    /// Deeper nesting than this is treated as a loop even if the paths differ.
    static let maxIncludeDepth = 16

    static func read(
        text: String, path: String, readFile: (String) -> String?
    ) -> (items: [IniItem], diagnostics: [ConfigDiagnostic]) {
        var items: [IniItem] = []
        var diagnostics: [ConfigDiagnostic] = []
        read(text: text, path: path, includeStack: [Paths.normalize(path)],
             readFile: readFile, items: &items, diagnostics: &diagnostics)
        return (items, diagnostics)
    }

    private static func read(
        text: String, path: String, includeStack: [String], readFile: (String) -> String?,
        items: inout [IniItem], diagnostics: inout [ConfigDiagnostic]
    ) {
        var lineNumber = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let location = SourceLocation(file: path, line: lineNumber)
            let line = rawLine.trimmed
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }

            if let target = includeTarget(line) {
                guard !target.isEmpty else {
                    diagnostics.append(.error(location, "%include: missing file name"))
                    continue
                }
                let resolved = Paths.resolve(target, relativeTo: path)
                if includeStack.contains(resolved) || includeStack.count > maxIncludeDepth {
                    let chain = (includeStack + [resolved]).map { "\"\($0)\"" }.joined(separator: " -> ")
                    diagnostics.append(.error(location, "%include: include loop: \(chain)"))
                    continue
                }
                guard let included = readFile(resolved) else {
                    diagnostics.append(.error(location, "%include: cannot read file \"\(resolved)\""))
                    continue
                }
                read(text: included, path: resolved, includeStack: includeStack + [resolved],
                     readFile: readFile, items: &items, diagnostics: &diagnostics)
                continue
            }

            switch parseLine(line) {
            case .success(let parsed):
                items.append(IniItem(line: parsed, location: location))
            case .failure(let failure):
                diagnostics.append(.error(location, failure.message))
            }
        }
    }

    /// The file name after `%include`, or nil when the line is not an include directive.
    private static func includeTarget(_ line: String) -> String? {
        let directive = "%include"
        guard line.lowercased().hasPrefix(directive) else { return nil }
        let rest = line.dropFirst(directive.count)
        guard rest.isEmpty || rest.first!.isWhitespace else { return nil }
        let target = rest.trimmed
        if target.count >= 2, target.hasPrefix("\""), target.hasSuffix("\"") {
            return String(target.dropFirst().dropLast())
        }
        return target
    }

    struct LineError: Error {
        var message: String
    }

    /// Parses a trimmed, non-comment line that is not an include directive.
    static func parseLine(_ line: String) -> Result<IniLine, LineError> {
        if line.hasPrefix("[") {
            guard line.hasSuffix("]"), line.count >= 2 else {
                return .failure(LineError(message: "malformed section header \(line)"))
            }
            return .success(.section(line.dropFirst().dropLast().trimmed.lowercased()))
        }
        let key: String
        let rest: Substring
        if line.hasPrefix("\"") {
            guard let (quoted, after) = readQuotedKey(line.dropFirst()) else {
                return .failure(LineError(message: "unterminated quoted name"))
            }
            key = quoted
            rest = after
        } else {
            guard let equals = line.firstIndex(of: "=") else {
                return .failure(LineError(message: "expected \"key = value\", found \(line)"))
            }
            key = line[..<equals].trimmed
            rest = line[equals...]
        }
        let afterKey = rest.drop(while: \.isWhitespace)
        guard afterKey.first == "=" else {
            return .failure(LineError(message: "expected \"=\" after \"\(key)\""))
        }
        guard !key.isEmpty else {
            return .failure(LineError(message: "missing name before \"=\""))
        }
        return .success(.entry(key: key, value: afterKey.dropFirst().trimmed))
    }

    /// Reads up to the closing double quote; `""` stands for one literal quote.
    private static func readQuotedKey(_ text: Substring) -> (String, Substring)? {
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            index = text.index(after: index)
            if character == "\"" {
                guard index < text.endIndex, text[index] == "\"" else {
                    return (result, text[index...])
                }
                index = text.index(after: index)
            }
            result.append(character)
        }
        return nil
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace.
    var trimmed: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }),
              let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}
