import Glibc
import SluiceConfig
import SluiceCore
import SluiceIO

/// Resolves server host names for every worker: from its cache while an answer is fresh,
/// else on a thread of its own (the system resolver may block for seconds, and event loops
/// must not), first from dns_hosts_file when set, then with getaddrinfo. Lookups of one name
/// that overlap share one resolution; each asking worker gets the answer on its own thread.
final class HostResolver: Sendable {
    /// How long answers serve and where the hosts file is: the running configuration's, read
    /// at each lookup, so a reload changes them.
    struct Options: Sendable {
        var ttl: Double
        var failureTTL: Double
        var hostsFile: String?

        init(_ settings: Settings) {
            ttl = settings.dnsMaxTTL
            failureTTL = settings.dnsNXDomainTTL
            hostsFile = settings.dnsHostsFile
        }
    }

    /// Hands an answer to the worker with the given index.
    typealias Delivery = @Sendable (_ worker: Int, _ answer: HostCache.Answer) -> Void

    private struct State {
        var cache = HostCache()
        /// The workers waiting for each name being looked up, and how to tell them.
        var waiting: [String: (workers: Set<Int>, deliver: Delivery)] = [:]
        /// Lookups started since Sluice started.
        var lookups = 0
    }

    private let state = Guarded(State())

    /// The fresh answer for `host`, if the cache has one.
    func cachedAnswer(for host: String) -> HostCache.Answer? {
        state.withLock { $0.cache.answer(for: host, now: MonotonicClock.now()) }
    }

    /// Looks `host` up for `worker`, which gets the answer through `deliver` (called on the
    /// resolver's thread): one lookup serves every worker that asks while it runs.
    func lookUp(_ host: String, options: Options, for worker: Int, deliver: @escaping Delivery) {
        let first = state.withLock { state in
            guard state.waiting[host] == nil else {
                state.waiting[host]?.workers.insert(worker)
                return false
            }
            state.waiting[host] = ([worker], deliver)
            state.lookups += 1
            return true
        }
        guard first else { return }
        do {
            try LoopThread.detached { [self] in
                let answer = Self.resolve(host, hostsFile: options.hostsFile)
                let succeeded = if case .addresses = answer { true } else { false }
                finish(host, answer, ttl: succeeded ? options.ttl : options.failureTTL)
            }
        } catch {
            finish(host, .failure("cannot start a resolver thread: \(error)"), ttl: 0)
        }
    }

    private func finish(_ host: String, _ answer: HostCache.Answer, ttl: Double) {
        let now = MonotonicClock.now()
        let waiting = state.withLock { state in
            state.cache.removeExpired(now: now)
            state.cache.store(answer, for: host, until: now + ttl)
            return state.waiting.removeValue(forKey: host)
        }
        for worker in waiting?.workers ?? [] { waiting?.deliver(worker, answer) }
    }

    /// SHOW LISTS: names with a fresh answer, lookups so far, lookups running.
    var counts: (names: Int, lookups: Int, pending: Int) {
        let now = MonotonicClock.now()
        return state.withLock { state in
            (state.cache.entries.values.filter { $0.expiresAt > now }.count, state.lookups, state.waiting.count)
        }
    }

    /// SHOW DNS_HOSTS: each name with an answer that has not expired, its seconds left and addresses.
    func listing() -> [(host: String, secondsLeft: Double, addresses: [String])] {
        let now = MonotonicClock.now()
        return state.withLock { $0.cache.entries }.compactMap { host, entry in
            guard entry.expiresAt > now, case .addresses(let addresses) = entry.answer else { return nil }
            return (host, entry.expiresAt - now, addresses)
        }.sorted { $0.host < $1.host }
    }

    /// The hosts file's addresses for `host` if it lists it, else getaddrinfo's. Runs on the
    /// resolver's thread.
    private static func resolve(_ host: String, hostsFile: String?) -> HostCache.Answer {
        if let hostsFile, let text = ConfigurationLoader.readFile(hostsFile),
           let listed = HostsFile.parse(text)[host.lowercased()] {
            return .addresses(listed)
        }
        do {
            var seen: [String] = []
            for address in try Socket.lookUp(host: host, port: 0) where !seen.contains(address.host) {
                seen.append(address.host)
            }
            return seen.isEmpty ? .failure("no address") : .addresses(seen)
        } catch {
            return .failure("\(error)")
        }
    }
}
