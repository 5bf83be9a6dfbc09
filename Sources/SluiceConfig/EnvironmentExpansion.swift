/// `${NAME}` and `$NAME` in `[databases]` values, replaced by environment variables, the way
/// container guides write a PgBouncer sidecar's configuration
/// (`app = host=${DB_HOST} port=${DB_PORT} dbname=${DB_NAME}`). `$$` stands for one `$`.
enum EnvironmentExpansion {
    /// `text` with every variable replaced, or the first variable `lookup` does not know.
    static func expand(_ text: String, lookup: (String) -> String?) -> Result<String, Missing> {
        guard text.contains("$") else { return .success(text) }
        var result = ""
        var rest = text[...]
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            rest = rest[rest.index(after: dollar)...]
            if rest.first == "$" {
                result += "$"
                rest = rest.dropFirst()
                continue
            }
            let name: Substring
            if rest.first == "{" {
                guard let close = rest.firstIndex(of: "}") else { return .failure(Missing(name: String(rest.dropFirst()), unterminated: true)) }
                name = rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(after: close)...]
            } else {
                name = rest.prefix { $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }
                rest = rest.dropFirst(name.count)
            }
            guard !name.isEmpty, let value = lookup(String(name)) else {
                return .failure(Missing(name: String(name), unterminated: false))
            }
            result += value
        }
        return .success(result + rest)
    }

    /// A variable that is not set, or a `${` without its `}`.
    struct Missing: Error, Equatable {
        let name: String
        let unterminated: Bool

        var message: String {
            if unterminated { return "\"${\(name)\" has no closing brace" }
            if name.isEmpty { return "a \"$\" names no environment variable (write $$ for a dollar sign)" }
            return "environment variable \(name) is not set (write $$ for a dollar sign)"
        }
    }
}
