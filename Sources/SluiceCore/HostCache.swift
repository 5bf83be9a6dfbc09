/// What the resolver last learnt of each server host name, kept until it expires: names are
/// resolved when a server connection opens, and an answer serves for dns_max_ttl seconds (a
/// failed lookup for dns_nxdomain_ttl), as PgBouncer does. Pure: time comes from the caller.
public struct HostCache: Sendable {
    /// A lookup's outcome: numeric addresses, or why there are none.
    public enum Answer: Sendable, Equatable {
        case addresses([String])
        case failure(String)
    }

    public struct Entry: Sendable, Equatable {
        public var answer: Answer
        public var expiresAt: Double
    }

    private(set) public var entries: [String: Entry] = [:]

    public init() {}

    /// The answer for `host` while it has not expired.
    public func answer(for host: String, now: Double) -> Answer? {
        guard let entry = entries[host], entry.expiresAt > now else { return nil }
        return entry.answer
    }

    public mutating func store(_ answer: Answer, for host: String, until expiresAt: Double) {
        entries[host] = Entry(answer: answer, expiresAt: expiresAt)
    }

    /// Forgets answers that expired before `now`, so names no longer used do not accumulate.
    public mutating func removeExpired(now: Double) {
        entries = entries.filter { $0.value.expiresAt > now }
    }
}

/// The hosts(5) format: an address, then the names it stands for; `#` starts a comment.
public enum HostsFile {
    /// The addresses each name maps to, in the file's order.
    public static func parse(_ text: String) -> [String: [String]] {
        var addresses: [String: [String]] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.prefix { $0 != "#" }
            let fields = content.split(whereSeparator: \.isWhitespace).map(String.init)
            guard fields.count >= 2 else { continue }
            for name in fields.dropFirst() {
                let key = name.lowercased()
                if addresses[key]?.contains(fields[0]) != true { addresses[key, default: []].append(fields[0]) }
            }
        }
        return addresses
    }
}
