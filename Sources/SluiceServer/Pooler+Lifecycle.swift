import Glibc
import SluiceConfig
import PostgresWire
import SluiceCore

extension Pooler {
    func handleSignal(_ signal: Int32) {
        switch signal {
        case SIGHUP:
            reload()
        case SIGINT, SIGTERM:
            let graceful = signal == SIGTERM || interruptFinishesTransactions
            logger.notice("got \(signal == SIGINT ? "SIGINT" : "SIGTERM"), shutting down\(graceful ? " once transactions in flight finish" : "")")
            beginStopping(graceful: graceful)
        case SIGQUIT:
            logger.notice("got SIGQUIT, shutting down at once")
            beginStopping(graceful: false)
        default:
            break
        }
    }

    /// Reads the configuration and userlist again. New logins and new server connections use
    /// them; pool limits change at once; nobody is disconnected. An invalid file keeps the old.
    public func reload() {
        var fresh: Configuration
        do {
            fresh = try reloadConfiguration()
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
            return
        }
        let restartOnly = restartOnlyChanges(from: configuration.settings, to: fresh.settings)
        if !restartOnly.isEmpty {
            logger.warning("reload: \(restartOnly.joined(separator: ", ")) take effect only after a restart")
            keepRestartOnlySettings(of: configuration.settings, in: &fresh.settings)
        }
        configuration = fresh
        for key in pools.keys {
            guard let entry = fresh.database(named: key.database) else { continue }
            perform(pools.configure(key, limits: limits(for: entry, user: key.user)))
        }
        logger.info("configuration reloaded")
    }

    /// The running values of what a reload cannot change, so the configuration Sluice reports
    /// and acts on (the socket it removes at exit, say) stays the one it runs with.
    private func keepRestartOnlySettings(of running: Settings, in fresh: inout Settings) {
        fresh.listenAddresses = running.listenAddresses
        fresh.listenPort = running.listenPort
        fresh.unixSocketDir = running.unixSocketDir
        fresh.threads = running.threads
        fresh.packetBufferSize = running.packetBufferSize
        fresh.trackExtraParameters = running.trackExtraParameters
    }

    private func restartOnlyChanges(from old: Settings, to new: Settings) -> [String] {
        var names: [String] = []
        if old.listenAddresses != new.listenAddresses { names.append("listen_addr") }
        if old.listenPort != new.listenPort { names.append("listen_port") }
        if old.unixSocketDir != new.unixSocketDir { names.append("unix_socket_dir") }
        if old.threads != new.threads { names.append("threads") }
        if old.trackExtraParameters != new.trackExtraParameters { names.append("track_extra_parameters") }
        if old.packetBufferSize != new.packetBufferSize { names.append("pkt_buf") }
        return names
    }

    /// Stops accepting. Gracefully, every client is disconnected at its next transaction
    /// boundary (at once if it is between transactions), and any left after shutdown_timeout
    /// are disconnected then; otherwise everyone is disconnected now.
    func beginStopping(graceful: Bool) {
        guard !stopping else {
            if !graceful { disconnectAll() }
            return
        }
        stopping = true
        for listener in listeners { listener.close() }
        listeners = []
        if graceful {
            for client in Array(clients.values) where !client.isInTransaction {
                client.reject(Self.shutdownError)
            }
            let timeout = configuration.settings.shutdownTimeout
            if timeout > 0 {
                loop.schedule(after: timeout) { [weak self] in self?.disconnectAll() }
            }
        } else {
            disconnectAll()
        }
        if clients.isEmpty { finishStopping() }
    }

    static let shutdownError = ErrorFields(code: SQLState.adminShutdown, message: "terminating connection due to administrator command")

    private func disconnectAll() {
        for client in Array(clients.values) { client.reject(Self.shutdownError) }
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
