import Glibc
import SluiceConfig
import PostgresWire
import SluiceCore

extension Pooler {
    func handleSignal(_ signal: Int32) {
        switch signal {
        case SIGHUP:
            reload()
        case SIGINT:
            logger.notice(interruptWaitsForClients ? "got SIGINT, shutting down once clients leave" : "got SIGINT, shutting down")
            beginStopping(waitForClients: interruptWaitsForClients)
        case SIGTERM, SIGQUIT:
            logger.notice("got signal \(signal), shutting down")
            beginStopping(waitForClients: false)
        default:
            break
        }
    }

    /// Reads the configuration and userlist again. New logins and new server connections use
    /// them; pool limits change at once; nobody is disconnected. An invalid file keeps the old.
    public func reload() {
        let fresh: Configuration
        do {
            fresh = try reloadConfiguration()
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
            return
        }
        let restartOnly = restartOnlyChanges(from: configuration.settings, to: fresh.settings)
        if !restartOnly.isEmpty {
            logger.warning("reload: \(restartOnly.joined(separator: ", ")) take effect only after a restart")
        }
        configuration = fresh
        trackedParameters = TrackedParameters(extra: fresh.settings.trackExtraParameters)
        for key in pools.keys {
            guard let entry = fresh.database(named: key.database) else { continue }
            perform(pools.configure(key, limits: limits(for: entry, user: key.user)))
        }
        logger.info("configuration reloaded")
    }

    private func restartOnlyChanges(from old: Settings, to new: Settings) -> [String] {
        var names: [String] = []
        if old.listenAddresses != new.listenAddresses { names.append("listen_addr") }
        if old.listenPort != new.listenPort { names.append("listen_port") }
        if old.unixSocketDir != new.unixSocketDir { names.append("unix_socket_dir") }
        if old.threads != new.threads { names.append("threads") }
        if old.packetBufferSize != new.packetBufferSize { names.append("pkt_buf") }
        return names
    }

    /// Stops accepting; closes idle servers; with `waitForClients` lets connected clients finish.
    func beginStopping(waitForClients: Bool) {
        stopping = true
        for listener in listeners { listener.close() }
        listeners = []
        if !waitForClients {
            for client in clients.values {
                client.reject(ErrorFields(severity: "FATAL", code: SQLState.adminShutdown, message: "terminating connection due to administrator command"))
            }
        }
        if clients.isEmpty { finishStopping() }
    }

    func finishStopping() {
        for server in servers.values { server.close() }
        servers = [:]
        if let directory = configuration.settings.unixSocketDir, !directory.isEmpty {
            unlink("\(directory)/.s.PGSQL.\(configuration.settings.listenPort)")
        }
        loop.stop()
    }
}
