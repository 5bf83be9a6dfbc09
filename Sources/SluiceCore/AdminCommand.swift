/// A command of the admin console (the `pgbouncer` or `sluice` database), read from a simple
/// Query as PgBouncer reads it: words without regard to case, an optional final semicolon.
public enum AdminCommand: Equatable, Sendable {
    /// `SHOW POOLS`, `SHOW CLIENTS`, ...: the subject in upper case.
    case show(String)
    case reload
    /// `SHUTDOWN`: as SIGTERM, once transactions in flight finish.
    case shutdown
    /// `KILL_CLIENT id`: the id as SHOW CLIENTS gives it.
    case killClient(String)
    /// `PAUSE` or `PAUSE db`: let transactions in flight finish, close the servers, hold new
    /// transactions; answered once the servers are closed.
    case pause(database: String?)
    /// `RESUME` or `RESUME db`: release what PAUSE holds.
    case resume(database: String?)

    /// nil for text that is no admin command Sluice knows; the console answers it with an error.
    public init?(_ text: String) {
        var trimmed = Substring(text).drop { $0.isWhitespace }
        while let last = trimmed.last, last == ";" || last.isWhitespace { trimmed = trimmed.dropLast() }
        let words = trimmed.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let verb = words.first?.uppercased() else { return nil }
        switch (verb, words.count) {
        case ("SHOW", 2): self = .show(words[1].uppercased())
        case ("RELOAD", 1): self = .reload
        case ("SHUTDOWN", 1): self = .shutdown
        case ("KILL_CLIENT", 2): self = .killClient(words[1])
        case ("PAUSE", 1...2): self = .pause(database: words.count == 2 ? words[1] : nil)
        case ("RESUME", 1...2): self = .resume(database: words.count == 2 ? words[1] : nil)
        default: return nil
        }
    }
}
