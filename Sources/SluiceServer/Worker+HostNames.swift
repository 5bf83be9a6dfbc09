import SluiceCore
import SluiceIO

/// Server host names: resolved when a server connection opens, through the pooler's shared
/// `HostResolver`; servers to an address the name no longer has are retired (closed when idle,
/// else when released), so an RDS failover that moves an endpoint moves the traffic with it.
extension Worker {
    /// Gives `then` the addresses of `host`: at once for a numeric address or a fresh cached
    /// answer, else when the resolver has one.
    func resolve(_ host: String, then: @escaping (HostCache.Answer) -> Void) {
        if Socket.numericAddress(host, port: 0) != nil {
            then(.addresses([host]))
            return
        }
        if let answer = pooler.resolver.cachedAnswer(for: host) {
            then(answer)
            return
        }
        let asked = hostWaiters[host] != nil
        hostWaiters[host, default: []].append(then)
        guard !asked else { return }
        pooler.resolver.lookUp(host, options: HostResolver.Options(configuration.settings), for: index) { [pooler] worker, answer in
            pooler.post(to: worker) { $0.hostLookedUp(host, answer) }
        }
    }

    private func hostLookedUp(_ host: String, _ answer: HostCache.Answer) {
        for waiter in hostWaiters.removeValue(forKey: host) ?? [] { waiter(answer) }
    }

    /// For the janitor: looks again at the names this worker's servers were opened by (from
    /// the cache until it expires) and retires the servers whose address is no longer among a
    /// name's. A failed lookup retires nothing: the servers may still be fine.
    func retireServersOfMovedHosts() {
        let names = Set(servers.values.compactMap { server in server.remote != nil && server.host != server.remote?.host ? server.host : nil })
        for name in names {
            resolve(name) { [unowned self] answer in
                guard case .addresses(let current) = answer else { return }
                let retired = retireServers(of: nil) { server in
                    server.host == name && server.remote.map { !current.contains($0.host) } ?? false
                }
                if retired > 0 {
                    logger.notice("\(name) now resolves to \(current.joined(separator: ", ")): \(retired) servers to its old address close once released")
                }
            }
        }
    }
}
