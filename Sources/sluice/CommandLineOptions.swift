import Glibc
import Logging

struct UsageError: Error {
    let message: String
}

/// The command line, in PgBouncer's shape: `sluice [options] CONFIG`, plus `--check`,
/// `--version` and the `demo` command.
enum CommandLineOptions {
    struct Run {
        var configPath: String
        var logLevel: Logger.Level = .info
        /// `-d`: detach into the background once listening.
        var daemon = false
        /// `-R`: take over from the Sluice the pidfile names (see `runPooler`).
        var onlineRestart = false
        /// `-u USER`: run as USER once the listeners are bound.
        var user: String?
    }

    enum Command {
        case run(Run)
        case check(String)
        case demo
        case version
        case help
    }

    static let usage = """
        usage: sluice [-d|--daemon] [-R] [-q|--quiet] [-v|--verbose] [-u|--user USER] CONFIG
                                                              run the pooler (-d: in the background;
                                                              -R: take over from the running one)
               sluice --check CONFIG                          validate the configuration and exit
               sluice demo                                    PostgreSQL in a temp dir with Sluice in front
               sluice --version | --help
        """

    static func parse(_ arguments: [String]) throws(UsageError) -> Command {
        if arguments.first == "demo" {
            guard arguments.count == 1 else { throw UsageError(message: "demo takes no arguments") }
            return .demo
        }
        var run = Run(configPath: "")
        var check = false
        var paths: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "-d", "--daemon": run.daemon = true
            case "-R", "--reboot": run.onlineRestart = true
            case "-u", "--user":
                guard let user = rest.popFirst(), !user.hasPrefix("-") else { throw UsageError(message: "\(argument) needs a user name") }
                run.user = user
            case _ where argument.hasPrefix("--user="): run.user = String(argument.dropFirst("--user=".count))
            case "-V", "--version": return .version
            case "-h", "--help": return .help
            case "--check": check = true
            case "-q", "--quiet": run.logLevel = .warning
            case "-v", "--verbose": run.logLevel = run.logLevel == .debug ? .trace : .debug
            case _ where argument.hasPrefix("-"):
                throw UsageError(message: "unknown option \(argument)")
            default: paths.append(argument)
            }
        }
        guard paths.count == 1 else {
            throw UsageError(message: paths.isEmpty ? "a configuration file is required" : "only one configuration file may be given")
        }
        if check { return .check(paths[0]) }
        run.configPath = paths[0]
        return .run(run)
    }
}

/// Writes text (ending with a newline) to standard error.
func printError(_ text: String) { writeAll(2, text) }

/// Writes text to standard output at once, bypassing stdio's buffer.
func printOutput(_ text: String) { writeAll(1, text) }

private func writeAll(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        offset += written
    }
}
