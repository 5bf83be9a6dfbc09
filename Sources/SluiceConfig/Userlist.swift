import SluiceAuth

/// Reads PgBouncer's `auth_file` (userlist.txt): one `"user" "secret"` pair per line.
///
/// Both fields are double-quoted, with `""` standing for a literal quote; anything after the
/// second field is ignored. Blank lines and lines starting with `;` or `#` are skipped.
/// A user listed twice keeps the later secret.
public enum UserlistParser {
    public static func parse(
        text: String, path: String
    ) -> (secrets: [String: StoredSecret], errors: [ConfigDiagnostic]) {
        var secrets: [String: StoredSecret] = [:]
        var errors: [ConfigDiagnostic] = []
        var lineNumber = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let line = rawLine.drop(while: \.isWhitespace)
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            let location = SourceLocation(file: path, line: lineNumber)
            guard let (user, afterUser) = quotedField(line) else {
                errors.append(.error(location, "expected a double-quoted user name"))
                continue
            }
            guard !user.isEmpty else {
                errors.append(.error(location, "empty user name"))
                continue
            }
            guard let (secret, _) = quotedField(afterUser.drop(while: \.isWhitespace)) else {
                errors.append(.error(location, "expected a double-quoted secret after user \"\(user)\""))
                continue
            }
            secrets[user] = StoredSecret(parsing: secret)
        }
        return (secrets, errors)
    }

    /// A field starting with `"` at the start of `text`, and the text after its closing quote.
    private static func quotedField(_ text: Substring) -> (String, Substring)? {
        guard text.first == "\"" else { return nil }
        var value = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            index = text.index(after: index)
            if character == "\"" {
                guard index < text.endIndex, text[index] == "\"" else { return (value, text[index...]) }
                index = text.index(after: index)
            }
            value.append(character)
        }
        return nil
    }
}
