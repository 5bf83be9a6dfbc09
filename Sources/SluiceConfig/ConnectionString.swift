/// Splits a libpq-style connection string (`key=value key='quoted value' …`) into pairs.
///
/// As in libpq, whitespace around `=` is allowed; a value is either single-quoted or runs to
/// the next whitespace, and a backslash makes the next character literal in both forms.
/// Inside quotes a doubled `''` also stands for one quote, as PgBouncer accepts.
enum ConnectionString {
    struct Failure: Error, Sendable {
        var message: String
    }

    /// The pairs in written order, keys lowercased.
    static func parse(_ text: String) throws(Failure) -> [(key: String, value: String)] {
        let characters = Array(text)
        var index = 0
        var pairs: [(key: String, value: String)] = []

        func skipWhitespace() {
            while index < characters.count, characters[index].isWhitespace { index += 1 }
        }

        while true {
            skipWhitespace()
            guard index < characters.count else { break }
            var key = ""
            while index < characters.count, !characters[index].isWhitespace, characters[index] != "=" {
                key.append(characters[index])
                index += 1
            }
            skipWhitespace()
            guard index < characters.count, characters[index] == "=" else {
                throw Failure(message: "missing \"=\" after \"\(key)\" in connection string")
            }
            guard !key.isEmpty else {
                throw Failure(message: "missing parameter name before \"=\" in connection string")
            }
            index += 1
            skipWhitespace()
            let value: String
            if index < characters.count, characters[index] == "'" {
                index += 1
                guard let quoted = readQuoted(characters, &index) else {
                    throw Failure(message: "unterminated quoted value for \"\(key)\"")
                }
                value = quoted
            } else {
                guard let plain = readUnquoted(characters, &index) else {
                    throw Failure(message: "dangling backslash in value for \"\(key)\"")
                }
                value = plain
            }
            pairs.append((key.lowercased(), value))
        }
        return pairs
    }

    /// Reads after an opening quote through the closing one; nil if it never closes.
    private static func readQuoted(_ characters: [Character], _ index: inout Int) -> String? {
        var value = ""
        while index < characters.count {
            let character = characters[index]
            index += 1
            switch character {
            case "\\":
                guard index < characters.count else { return nil }
                value.append(characters[index])
                index += 1
            case "'":
                guard index < characters.count, characters[index] == "'" else { return value }
                value.append("'")
                index += 1
            default:
                value.append(character)
            }
        }
        return nil
    }

    /// Reads up to the next whitespace; nil if the text ends in a lone backslash.
    private static func readUnquoted(_ characters: [Character], _ index: inout Int) -> String? {
        var value = ""
        while index < characters.count, !characters[index].isWhitespace {
            if characters[index] == "\\" {
                index += 1
                guard index < characters.count else { return nil }
            }
            value.append(characters[index])
            index += 1
        }
        return value
    }
}

extension ConnectionString {
    /// Parses `text` and hands each pair to `set`, which returns false for a key it does not
    /// know. Returns one message per problem, each starting with `owner` (`database "x"`).
    static func apply(_ text: String, describing owner: String,
                      _ set: (String, String) throws(InvalidValue) -> Bool) -> [String] {
        let pairs: [(key: String, value: String)]
        do {
            pairs = try parse(text)
        } catch {
            return ["\(owner): \(error.message)"]
        }
        var errors: [String] = []
        for (key, value) in pairs {
            do {
                if try !set(key, value) { errors.append("\(owner): unknown parameter \"\(key)\"") }
            } catch {
                errors.append("\(owner): \(error.message(key: key, value: value))")
            }
        }
        return errors
    }
}
