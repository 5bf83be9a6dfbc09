/// The `options` startup parameter (libpq's `options` and `PGOPTIONS`): command-line
/// arguments for the backend, of which Sluice takes the ones that set a configuration
/// parameter, `-c name=value` (also `-cname=value`) and `--name=value`, as PostgreSQL reads
/// them: arguments are separated by whitespace, and a backslash makes the next character
/// literal (`-c search_path=a,\ b`).
public enum StartupOptions {
    public enum Failure: Error, Equatable {
        /// An argument other than `-c name=value` or `--name=value`.
        case unsupportedArgument
    }

    /// The `(name, value)` settings in `text`, in order. In the `--name=value` form, dashes in
    /// the name stand for underscores, as PostgreSQL takes them.
    public static func settings(in text: String) throws(Failure) -> [(name: String, value: String)] {
        var settings: [(String, String)] = []
        var arguments = splitArguments(text)[...]
        while let argument = arguments.popFirst() {
            let setting: String
            var dashes = false
            if argument == "-c" {
                guard let next = arguments.popFirst() else { throw .unsupportedArgument }
                setting = next
            } else if argument.hasPrefix("--") {
                setting = String(argument.dropFirst(2))
                dashes = true
            } else if argument.hasPrefix("-c") {
                setting = String(argument.dropFirst(2))
            } else {
                throw .unsupportedArgument
            }
            guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else { throw .unsupportedArgument }
            let name = String(setting[..<equals])
            settings.append((dashes ? name.replacing("-", with: "_") : name, String(setting[setting.index(after: equals)...])))
        }
        return settings
    }

    /// Whitespace-separated arguments, a backslash escaping the character after it.
    static func splitArguments(_ text: String) -> [String] {
        var arguments: [String] = []
        var current = ""
        var inArgument = false
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
                inArgument = true
            } else if character.isWhitespace {
                if inArgument { arguments.append(current) }
                current = ""
                inArgument = false
            } else {
                current.append(character)
                inArgument = true
            }
        }
        if inArgument { arguments.append(current) }
        return arguments
    }
}
