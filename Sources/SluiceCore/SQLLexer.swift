/// Splits SQL text into tokens by PostgreSQL's lexical rules, far enough to know where words,
/// literals and statements start and end: comments (`--` and nested `/* */`) and whitespace
/// are skipped; single-quoted strings (with `''`, and backslash escapes in `E'...'`),
/// double-quoted identifiers (with `""`) and dollar-quoted strings (`$tag$...$tag$`) are one
/// token each, whatever they contain.
///
/// Text that ends inside a literal or comment ends its last token there; callers that must be
/// sure treat that as unknown.
public struct SQLLexer {
    public enum Kind: Equatable, Sendable {
        /// A keyword or unquoted identifier.
        case word
        /// `"..."`: an identifier kept as written.
        case quotedIdentifier
        /// `'...'`, `E'...'`, `B'...'`, `X'...'`, `U&'...'` or `$tag$...$tag$`.
        case string
        case number
        /// `$1`, `$2`, ...
        case parameter
        /// One of `( ) [ ] , ; .` or a run of operator characters.
        case symbol
    }

    public struct Token: Equatable, Sendable {
        public let kind: Kind
        public let range: Range<Int>
        /// False when the text ended inside this literal or a comment.
        public let isComplete: Bool
    }

    public let text: [UInt8]
    public private(set) var position: Int

    public init(_ text: [UInt8], from position: Int = 0) {
        self.text = text
        self.position = position
    }

    /// False when the text ended inside a comment.
    public private(set) var endedCleanly = true

    public mutating func next() -> Token? {
        skipSpaceAndComments()
        guard position < text.count else { return nil }
        let start = position
        let byte = text[position]
        var complete = true
        let kind: Kind
        switch byte {
        case UInt8(ascii: "'"):
            complete = skipQuoted(UInt8(ascii: "'"), backslashEscapes: false)
            kind = .string
        case UInt8(ascii: "\""):
            complete = skipQuoted(UInt8(ascii: "\""), backslashEscapes: false)
            kind = .quotedIdentifier
        case UInt8(ascii: "$"):
            if let tagEnd = dollarTagEnd(at: position) {
                complete = skipDollarQuoted(tag: Array(text[position..<tagEnd]))
                kind = .string
            } else {
                position += 1
                while position < text.count, Self.isDigit(text[position]) { position += 1 }
                kind = position > start + 1 ? .parameter : .symbol
            }
        case _ where Self.isDigit(byte), UInt8(ascii: ".") where position + 1 < text.count && Self.isDigit(text[position + 1]):
            skipNumber()
            kind = .number
        case _ where Self.startsWord(byte):
            if let prefixed = stringPrefixLength(at: position) {
                position += prefixed
                let quote = text[position]
                let escapes = quote == UInt8(ascii: "'") && (byte | 0x20) == UInt8(ascii: "e") && prefixed == 1
                complete = skipQuoted(quote, backslashEscapes: escapes)
                kind = quote == UInt8(ascii: "\"") ? .quotedIdentifier : .string
            } else {
                while position < text.count, Self.continuesWord(text[position]) { position += 1 }
                kind = .word
            }
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","),
             UInt8(ascii: ";"), UInt8(ascii: "."):
            position += 1
            kind = .symbol
        default:
            position += 1
            while position < text.count, Self.isOperator(text[position]), !startsComment(at: position) { position += 1 }
            kind = .symbol
        }
        return Token(kind: kind, range: start..<position, isComplete: complete)
    }

    /// True if `token` is the word `keyword` (given in lower case), in any case.
    public func isWord(_ token: Token, _ keyword: StaticString) -> Bool {
        guard token.kind == .word, token.range.count == keyword.utf8CodeUnitCount else { return false }
        var index = token.range.lowerBound
        return keyword.withUTF8Buffer { letters in
            for letter in letters {
                let byte = text[index]
                let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                guard lowered == letter else { return false }
                index += 1
            }
            return true
        }
    }

    /// The byte of a one-byte symbol token, else nil.
    public func symbol(_ token: Token) -> UInt8? {
        token.kind == .symbol && token.range.count == 1 ? text[token.range.lowerBound] : nil
    }

    /// The identifier a word or quoted identifier names, as PostgreSQL reads it: an unquoted
    /// word folded to lower case (ASCII letters), a quoted one with its quotes removed.
    public func identifier(_ token: Token) -> String? {
        switch token.kind {
        case .word:
            return String(decoding: text[token.range].map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 },
                          as: UTF8.self)
        case .quotedIdentifier where token.isComplete && text[token.range.lowerBound] == UInt8(ascii: "\""):
            let inner = text[(token.range.lowerBound + 1)..<(token.range.upperBound - 1)]
            return String(decoding: inner, as: UTF8.self).replacingDoubledQuotes()
        default:
            return nil
        }
    }

    // MARK: - Scanning

    private mutating func skipSpaceAndComments() {
        while position < text.count {
            let byte = text[position]
            if Self.isSpace(byte) {
                position += 1
            } else if byte == UInt8(ascii: "-"), position + 1 < text.count, text[position + 1] == UInt8(ascii: "-") {
                while position < text.count, text[position] != UInt8(ascii: "\n") { position += 1 }
            } else if startsComment(at: position) {
                skipBlockComment()
            } else {
                return
            }
        }
    }

    private func startsComment(at index: Int) -> Bool {
        index + 1 < text.count && (text[index] == UInt8(ascii: "/") && text[index + 1] == UInt8(ascii: "*")
            || text[index] == UInt8(ascii: "-") && text[index + 1] == UInt8(ascii: "-"))
    }

    /// Block comments nest in PostgreSQL.
    private mutating func skipBlockComment() {
        var depth = 0
        while position + 1 < text.count {
            if text[position] == UInt8(ascii: "/"), text[position + 1] == UInt8(ascii: "*") {
                depth += 1
                position += 2
            } else if text[position] == UInt8(ascii: "*"), text[position + 1] == UInt8(ascii: "/") {
                depth -= 1
                position += 2
                if depth == 0 { return }
            } else {
                position += 1
            }
        }
        position = text.count
        endedCleanly = false
    }

    /// Skips from an opening `quote` past its closing one; a doubled quote stands for itself.
    private mutating func skipQuoted(_ quote: UInt8, backslashEscapes: Bool) -> Bool {
        position += 1
        while position < text.count {
            let byte = text[position]
            if backslashEscapes && byte == UInt8(ascii: "\\") {
                position += 2
            } else if byte == quote {
                if position + 1 < text.count, text[position + 1] == quote {
                    position += 2
                } else {
                    position += 1
                    return true
                }
            } else {
                position += 1
            }
        }
        position = text.count
        return false
    }

    /// The end of a dollar-quote tag (`$`, an optional identifier without `$`, `$`) at `index`.
    private func dollarTagEnd(at index: Int) -> Int? {
        var end = index + 1
        if end < text.count, Self.startsWord(text[end]) {
            while end < text.count, Self.continuesWord(text[end]), text[end] != UInt8(ascii: "$") { end += 1 }
        }
        guard end < text.count, text[end] == UInt8(ascii: "$") else { return nil }
        return end + 1
    }

    private mutating func skipDollarQuoted(tag: [UInt8]) -> Bool {
        position += tag.count
        while position < text.count {
            if text[position] == UInt8(ascii: "$"), position + tag.count <= text.count,
               text[position..<(position + tag.count)].elementsEqual(tag) {
                position += tag.count
                return true
            }
            position += 1
        }
        return false
    }

    private mutating func skipNumber() {
        while position < text.count {
            let byte = text[position]
            if Self.isDigit(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") {
                position += 1
            } else if byte | 0x20 == UInt8(ascii: "e"), position + 1 < text.count,
                      Self.isDigit(text[position + 1]) || text[position + 1] == UInt8(ascii: "+") || text[position + 1] == UInt8(ascii: "-") {
                position += 2
            } else if Self.startsWord(byte) {
                position += 1  // 0x1F, 0o17, 0b101 and the like
            } else {
                return
            }
        }
    }

    /// The length of a literal's prefix (E, B, X, N, U&) when a quote follows it at `index`.
    private func stringPrefixLength(at index: Int) -> Int? {
        let letter = text[index] | 0x20
        if index + 1 < text.count, text[index + 1] == UInt8(ascii: "'"),
           [UInt8(ascii: "e"), UInt8(ascii: "b"), UInt8(ascii: "x"), UInt8(ascii: "n")].contains(letter) {
            return 1
        }
        if letter == UInt8(ascii: "u"), index + 2 < text.count, text[index + 1] == UInt8(ascii: "&"),
           text[index + 2] == UInt8(ascii: "'") || text[index + 2] == UInt8(ascii: "\"") {
            return 2
        }
        return nil
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func startsWord(_ byte: UInt8) -> Bool {
        let lowered = byte | 0x20
        return (lowered >= UInt8(ascii: "a") && lowered <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    private static func continuesWord(_ byte: UInt8) -> Bool {
        startsWord(byte) || isDigit(byte) || byte == UInt8(ascii: "$")
    }

    private static func isOperator(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "<"), UInt8(ascii: ">"),
             UInt8(ascii: "="), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "@"), UInt8(ascii: "#"), UInt8(ascii: "%"),
             UInt8(ascii: "^"), UInt8(ascii: "&"), UInt8(ascii: "|"), UInt8(ascii: "`"), UInt8(ascii: "?"), UInt8(ascii: ":"):
            true
        default:
            false
        }
    }
}

private extension String {
    func replacingDoubledQuotes() -> String {
        var result = ""
        var previousWasQuote = false
        for character in self {
            if character == "\"" && previousWasQuote {
                previousWasQuote = false
                continue
            }
            previousWasQuote = character == "\""
            result.append(character)
        }
        return result
    }
}
