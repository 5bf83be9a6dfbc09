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
    /// Runs on the main worker, which hands the new configuration to the others.
    func reload() {
        let running = main.configuration
        var fresh: Configuration
        do {
            fresh = try reloadConfiguration()
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
            return
        }
        let restartOnly = restartOnlyChanges(from: running.settings, to: fresh.settings)
        if !restartOnly.isEmpty {
            logger.warning("reload: \(restartOnly.joined(separator: ", ")) take effect only after a restart")
            keepRestartOnlySettings(of: running.settings, in: &fresh.settings)
        }
        let tls: TLSContexts
        do {
            tls = try TLSContexts(fresh.settings)
        } catch {
            logger.error("reload failed, keeping the running configuration: TLS: \(error)")
            return
        }
        for worker in workers {
            main.onWorker(worker.index) { [fresh] in
                $0.configuration = fresh
                $0.tls = tls
            }
        }
        main.applyPoolLimits()
        logger.info("configuration reloaded")
    }

    /// The running values of what a reload cannot change, so the configuration Sluice reports
    /// and acts on (the socket it removes at exit, say) stays the one it runs with.
    private func keepRestartOnlySettings(of running: Settings, in fresh: inout Settings) {
        fresh.listenAddresses = running.listenAddresses
        fresh.listenPort = running.listenPort
        fresh.unixSocketDir = running.unixSocketDir
        fresh.threads = running.threads
        fresh.metricsListen = running.metricsListen
        fresh.packetBufferSize = running.packetBufferSize
        fresh.trackExtraParameters = running.trackExtraParameters
    }

    private func restartOnlyChanges(from old: Settings, to new: Settings) -> [String] {
        var names: [String] = []
        if old.listenAddresses != new.listenAddresses { names.append("listen_addr") }
        if old.metricsListen != new.metricsListen { names.append("metrics_listen") }
        if old.listenPort != new.listenPort { names.append("listen_port") }
        if old.unixSocketDir != new.unixSocketDir { names.append("unix_socket_dir") }
        if old.threads != new.threads { names.append("threads") }
        if old.trackExtraParameters != new.trackExtraParameters { names.append("track_extra_parameters") }
        if old.packetBufferSize != new.packetBufferSize { names.append("pkt_buf") }
        return names
    }

    /// Stops accepting, and has every worker stop (see `Worker.beginStopping`).
    func beginStopping(graceful: Bool) {
        for listener in listeners { listener.close() }
        listeners = []
        for worker in workers {
            main.onWorker(worker.index) { $0.beginStopping(graceful: graceful) }
        }
    }

    /// A stopping worker has no client left; once every worker is there, all of them close
    /// their servers and their loops end. Called on that worker's thread.
    func workerHasNoClients(_ reporter: Worker) {
        let allDone = shared.withLock { shared in
            shared.stoppedWorkers += 1
            return shared.stoppedWorkers == workers.count
        }
        guard allDone else { return }
        let settings = main.configuration.settings
        if let directory = settings.unixSocketDir, !directory.isEmpty {
            unlink("\(directory)/.s.PGSQL.\(settings.listenPort)")
        }
        for worker in workers {
            reporter.onWorker(worker.index) { $0.finishStopping() }
        }
    }
}
