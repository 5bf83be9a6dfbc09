import PostgresWire
import SluiceCore

/// The console commands that act on a database's clients and servers: KILL, DISABLE, ENABLE,
/// RECONNECT and WAIT_CLOSE. Each runs on every worker for what lives there.
extension Worker {
    /// Closes this worker's servers of `database` (nil: of all) that `include` picks, among
    /// those in a pool: ones still logging in and the replica watches' are left alone.
    /// Returns how many it closed.
    @discardableResult
    func closeServers(of database: String?, where include: (ServerConnection) -> Bool) -> Int {
        let candidates = servers.values.filter { server in
            server.watcher == nil && (database.map { server.poolKey.database == $0 } ?? true) && include(server)
        }
        let chosen = pooler.shared.withLock { shared in candidates.filter { shared.pools.isPooled($0.id) } }
        for server in chosen {
            pools { $0.remove(server.id) }
            servers.removeValue(forKey: server.id)?.close()
        }
        return chosen.count
    }

    /// Closes this worker's servers of `database` (nil: of all) that are still connecting,
    /// logging in or running connect_query, so that none joins the pool afterwards. Their
    /// pools count them as failed openings, opening no replacement.
    private func closeOpeningServers(of database: String?) {
        let candidates = servers.values.filter { server in
            server.watcher == nil && (database.map { server.poolKey.database == $0 } ?? true)
        }
        let opening = pooler.shared.withLock { shared in
            candidates.filter { server in
                guard !shared.pools.isPooled(server.id) else { return false }
                _ = shared.pools.openFailed(in: server.poolKey)
                return true
            }
        }
        for server in opening { servers.removeValue(forKey: server.id)?.close() }
    }

    /// KILL: every worker holds new transactions of `database` (nil: of all) as PAUSE does,
    /// disconnects its clients and closes its servers.
    func kill(_ database: String?, answer: @escaping ([UInt8]) -> Void) {
        let killed = ErrorFields(code: SQLState.adminShutdown, message: "database \(database ?? "connections") killed from the admin console")
        gather({ worker -> Int in
            if let database { worker.pausedDatabases.insert(database) } else { worker.pausedAll = true }
            let clients = worker.clients.values.filter { client in
                client.poolKey.map { key in database.map { key.database == $0 } ?? true } ?? false
            }
            for client in clients { client.reject(killed) }
            worker.closeServers(of: database) { _ in true }
            worker.closeOpeningServers(of: database)
            return clients.count
        }) { [unowned self] counts in
            logger.notice("KILL \(database ?? "(all)"): \(counts.reduce(0, +)) clients disconnected; new transactions wait for RESUME")
            answer(BackendMessage.commandComplete("KILL"))
        }
    }

    /// DISABLE and ENABLE: whether new logins to `database` are refused.
    func setLoginsAllowed(_ allowed: Bool, to database: String, answer: ([UInt8]) -> Void) {
        pooler.shared.withLock { shared in
            if allowed { shared.disabledDatabases.remove(database) } else { shared.disabledDatabases.insert(database) }
        }
        answer(BackendMessage.commandComplete(allowed ? "ENABLE" : "DISABLE"))
    }

    /// RECONNECT: idle servers of `database` (nil: of all) close now, busy ones when released.
    func reconnect(_ database: String?, answer: @escaping ([UInt8]) -> Void) {
        gather({ worker -> Int in worker.retireServers(of: database) }) { [unowned self] counts in
            logger.info("RECONNECT \(database ?? "(all)"): \(counts.reduce(0, +)) servers to close")
            answer(BackendMessage.commandComplete("RECONNECT"))
        }
    }

    /// Closes the idle servers of `database` and marks the others to be closed when released.
    @discardableResult
    func retireServers(of database: String?, where include: (ServerConnection) -> Bool = { _ in true }) -> Int {
        let closed = closeServers(of: database) { $0.isIdle && include($0) }
        var marked = 0
        for server in servers.values where server.watcher == nil && !server.closeNeeded
            && (database.map { server.poolKey.database == $0 } ?? true) && include(server) {
            server.closeNeeded = true
            marked += 1
        }
        return closed + marked
    }

    /// WAIT_CLOSE: answered once no server of `database` (nil: of any) is marked to be closed.
    func waitClose(_ database: String?, answer: @escaping ([UInt8]) -> Void) {
        gather({ worker in
            worker.servers.values.contains { server in server.closeNeeded && (database.map { server.poolKey.database == $0 } ?? true) }
        }) { [unowned self] waiting in
            guard waiting.contains(true) else {
                answer(BackendMessage.commandComplete("WAIT_CLOSE"))
                return
            }
            loop.schedule(after: 0.05) { [unowned self] in self.waitClose(database, answer: answer) }
        }
    }
}
