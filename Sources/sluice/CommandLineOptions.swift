import Glibc
import Logging
import SluiceConfig

struct UsageError: Error {
    let message: String
}

/// The command line, in PgBouncer's shape: `sluice [options] CONFIG`, plus `--check`,
/// `--version` and the `demo` command.
enum CommandLineOptions {
    /// Where the configuration comes from.
    enum Source: Equatable {
        /// A pgbouncer.ini-style file.
        case file(String)
        /// A libpq URL alone (`--database-url`, or `DATABASE_URL` with no file): a sidecar.
        case databaseURL(String)

        func load() throws(ConfigurationError) -> (Configuration, warnings: [ConfigDiagnostic]) {
            switch self {
            case .file(let path): try ConfigurationLoader.load(path: path)
            case .databaseURL(let url): try ConfigurationLoader.load(databaseURL: url)
            }
        }

        var description: String {
            switch self {
            case .file(let path): path
            case .databaseURL: "DATABASE_URL"
            }
        }
    }

    struct Run {
        var source: Source
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
        case check(Source)
        case demo
        case version
        case help
    }

    static let usage = """
        usage: sluice [-d|--daemon] [-R] [-q|--quiet] [-v|--verbose] [-u|--user USER] CONFIG
                                                              run the pooler (-d: in the background;
                                                              -R: take over from the running one)
               sluice [options] --database-url postgres://USER:PASSWORD@HOST:PORT/DB
                                                              a sidecar on 127.0.0.1:6432 from one URL
                                                              (also DATABASE_URL when no CONFIG is given)
               sluice --check CONFIG                          validate the configuration and exit
               sluice demo                                    PostgreSQL in a temp dir with Sluice in front
               sluice --version | --help
        """

    /// `environment` looks up DATABASE_URL, used when no configuration file is named.
    static func parse(_ arguments: [String], environment: (String) -> String? = { getenv($0).map { String(cString: $0) } })
        throws(UsageError) -> Command {
        if arguments.first == "demo" {
            guard arguments.count == 1 else { throw UsageError(message: "demo takes no arguments") }
            return .demo
        }
        var run = Run(source: .file(""))
        var databaseURL: String?
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
            case "--database-url":
                guard let url = rest.popFirst() else { throw UsageError(message: "--database-url needs a URL") }
                databaseURL = url
            case _ where argument.hasPrefix("--database-url="): databaseURL = String(argument.dropFirst("--database-url=".count))
            case "-q", "--quiet": run.logLevel = .warning
            case "-v", "--verbose": run.logLevel = run.logLevel == .debug ? .trace : .debug
            case _ where argument.hasPrefix("-"):
                throw UsageError(message: "unknown option \(argument)")
            default: paths.append(argument)
            }
        }
        if let databaseURL {
            guard paths.isEmpty else { throw UsageError(message: "give a configuration file or --database-url, not both") }
            run.source = .databaseURL(databaseURL)
        } else if paths.isEmpty, let url = environment("DATABASE_URL"), !url.isEmpty {
            run.source = .databaseURL(url)
        } else {
            guard paths.count == 1 else {
                throw UsageError(message: paths.isEmpty ? "a configuration file (or --database-url, or DATABASE_URL) is required"
                                                        : "only one configuration file may be given")
            }
            run.source = .file(paths[0])
        }
        return check ? .check(run.source) : .run(run)
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
