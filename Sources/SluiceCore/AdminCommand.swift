/// A command of the admin console (the `pgbouncer` or `sluice` database), read from a simple
/// Query as PgBouncer reads it: words without regard to case, an optional final semicolon.
public enum AdminCommand: Equatable, Sendable {
    /// How SHUTDOWN (and the signals that mean the same) ends the pooler.
    public enum ShutdownMode: Equatable, Sendable {
        /// Every client is disconnected now.
        case immediate
        /// Stop listening; each client is disconnected when its transaction ends.
        case waitForServers
        /// Stop listening; clients carry on until they disconnect themselves.
        case waitForClients
    }

    /// `SHOW POOLS`, `SHOW CLIENTS`, ...: the subject in upper case.
    case show(String)
    case reload
    /// `SHUTDOWN [WAIT_FOR_SERVERS | WAIT_FOR_CLIENTS]`.
    case shutdown(ShutdownMode)
    /// `KILL_CLIENT id`: the id as SHOW CLIENTS gives it.
    case killClient(String)
    /// `KILL [db]`: drop the database's clients and servers now, and hold new ones until RESUME.
    case kill(database: String?)
    /// `PAUSE` or `PAUSE db`: let transactions in flight finish, close the servers, hold new
    /// transactions; answered once the servers are closed.
    case pause(database: String?)
    /// `RESUME` or `RESUME db`: release what PAUSE or KILL holds.
    case resume(database: String?)
    /// `DISABLE db`: refuse new logins to the database; `ENABLE db` accepts them again.
    case disable(database: String)
    case enable(database: String)
    /// `RECONNECT [db]`: close each server of the database when it is next released.
    case reconnect(database: String?)
    /// `WAIT_CLOSE [db]`: answered once no server of the database waits to be closed.
    case waitClose(database: String?)
    /// `SET key = value`: change a reloadable setting of the running configuration.
    case set(key: String, value: String)

    /// The database the command names, if any.
    public var database: String? {
        switch self {
        case .kill(let database), .pause(let database), .resume(let database), .reconnect(let database), .waitClose(let database):
            database
        case .disable(let database), .enable(let database):
            database
        case .show, .reload, .shutdown, .killClient, .set:
            nil
        }
    }

    /// nil for text that is no admin command Sluice knows; the console answers it with an error.
    public init?(_ text: String) {
        var trimmed = Substring(text).drop { $0.isWhitespace }
        while let last = trimmed.last, last == ";" || last.isWhitespace { trimmed = trimmed.dropLast() }
        if let assignment = Self.assignment(trimmed) {
            self = assignment
            return
        }
        let words = trimmed.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let verb = words.first?.uppercased() else { return nil }
        let argument = words.count == 2 ? words[1] : nil
        switch (verb, words.count) {
        case ("SHOW", 2): self = .show(words[1].uppercased())
        case ("RELOAD", 1): self = .reload
        case ("SHUTDOWN", 1): self = .shutdown(.immediate)
        case ("SHUTDOWN", 2) where words[1].uppercased() == "WAIT_FOR_SERVERS": self = .shutdown(.waitForServers)
        case ("SHUTDOWN", 2) where words[1].uppercased() == "WAIT_FOR_CLIENTS": self = .shutdown(.waitForClients)
        case ("KILL_CLIENT", 2): self = .killClient(words[1])
        case ("KILL", 1...2): self = .kill(database: argument)
        case ("PAUSE", 1...2): self = .pause(database: argument)
        case ("RESUME", 1...2): self = .resume(database: argument)
        case ("DISABLE", 2): self = .disable(database: words[1])
        case ("ENABLE", 2): self = .enable(database: words[1])
        case ("RECONNECT", 1...2): self = .reconnect(database: argument)
        case ("WAIT_CLOSE", 1...2): self = .waitClose(database: argument)
        default: return nil
        }
    }

    /// `SET key = value` (or `TO`), the value bare or in single quotes ('' for a quote inside).
    private static func assignment(_ text: Substring) -> AdminCommand? {
        guard text.prefix(4).uppercased() == "SET " else { return nil }
        let rest = text.dropFirst(4)
        let key: Substring
        var value: Substring
        if let equals = rest.firstIndex(of: "=") {
            key = rest[..<equals].trimmingSpaces
            value = rest[rest.index(after: equals)...].trimmingSpaces
        } else {
            let words = rest.split(maxSplits: 2, whereSeparator: \.isWhitespace)
            guard words.count == 3, words[1].uppercased() == "TO" else { return nil }
            key = words[0]
            value = words[2].trimmingSpaces
        }
        guard !key.isEmpty, !key.contains(where: \.isWhitespace) else { return nil }
        if value.first == "'" {
            guard value.count >= 2, value.last == "'" else { return nil }
            value = Substring(value.dropFirst().dropLast().replacing("''", with: "'"))
        }
        return .set(key: key.lowercased(), value: String(value))
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}
