import PostgresWire
import SluiceCore
import SluiceIO

/// PAUSE and RESUME. Every worker keeps its own copy of what is paused, so that the check a
/// client makes when it starts a transaction takes no lock; the console's worker tells them.
extension Worker {
    /// True while some PAUSE holds: a check of two fields, for every transaction.
    var anythingPaused: Bool { pausedAll || !pausedDatabases.isEmpty }

    /// True when `database`'s transactions must wait for RESUME.
    func isPaused(_ database: String) -> Bool {
        pausedAll || pausedDatabases.contains(database)
    }

    /// A client between transactions asked for a server while its database is paused.
    func hold(_ client: ClientConnection) {
        client.connection.pauseReading()
        heldClients[client.id] = client
    }

    /// PAUSE: every worker holds new transactions of `database` (nil: of all); once no server
    /// of it is linked any more, the idle ones are closed and `answer` gets the tag.
    func pause(_ database: String?, answer: @escaping ([UInt8]) -> Void) {
        guard !pausedAll && (database.map { !pausedDatabases.contains($0) } ?? pausedDatabases.isEmpty) else {
            answer(ErrorFields(severity: "ERROR", code: SQLState.protocolViolation, message: "already paused").encoded())
            return
        }
        for worker in pooler.workers {
            onWorker(worker.index) { target in
                if let database { target.pausedDatabases.insert(database) } else { target.pausedAll = true }
            }
        }
        waitForIdleServers(of: database, answer: answer)
    }

    private func waitForIdleServers(of database: String?, answer: @escaping ([UInt8]) -> Void) {
        let busy = pooler.shared.withLock { shared in
            shared.pools.overview.contains { pool in (database.map { pool.key.database == $0 } ?? true) && pool.active + pool.opening > 0 }
        }
        guard !busy else {
            loop.schedule(after: 0.05) { [unowned self] in self.waitForIdleServers(of: database, answer: answer) }
            return
        }
        gather({ worker in worker.closeServers(of: database) { $0.isIdle } }) { closed in
            self.logger.info("PAUSE \(database ?? "(all)"): \(closed.reduce(0, +)) idle servers closed")
            answer(BackendMessage.commandComplete("PAUSE"))
        }
    }

    /// RESUME: every worker lets its held clients go on.
    func resume(_ database: String?, answer: @escaping ([UInt8]) -> Void) {
        guard database.map({ pausedDatabases.contains($0) }) ?? (pausedAll || !pausedDatabases.isEmpty) else {
            answer(ErrorFields(severity: "ERROR", code: SQLState.protocolViolation, message: "pooler is not paused").encoded())
            return
        }
        gather({ worker -> Void in
            if let database { worker.pausedDatabases.remove(database) } else { worker.pausedAll = false; worker.pausedDatabases = [] }
            for client in worker.heldClients.values {
                guard let pool = client.poolKey, !worker.isPaused(pool.database) else { continue }
                worker.heldClients[client.id] = nil
                client.connection.resumeReading()
                if case .idle = client.state { client.connectionReadable(client.connection) }
            }
        }) { _ in answer(BackendMessage.commandComplete("RESUME")) }
    }
}
