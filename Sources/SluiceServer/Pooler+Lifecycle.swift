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
            // A second SIGINT does not wait any more.
            let waits = interruptFinishesTransactions && main.shutdownMode == nil
            beginStopping(waits ? .waitForServers : .immediate, cause: "SIGINT")
        case SIGTERM:
            // A second SIGTERM does not wait any more.
            beginStopping(main.shutdownMode == nil ? .waitForClients : .immediate, cause: "SIGTERM")
        case SIGQUIT:
            beginStopping(.immediate, cause: "SIGQUIT")
        default:
            break
        }
    }

    /// Reads the configuration and userlist again. New logins and new server connections use
    /// them; pool limits change at once; nobody is disconnected. An invalid file keeps the old,
    /// and the reason is returned. Runs on the main worker, which hands the new configuration
    /// to the others.
    @discardableResult
    func reload() -> String? {
        let running = main.configuration
        var fresh: Configuration
        func failed(_ reason: String) -> String {
            let message = "reload failed, keeping the running configuration: \(reason)"
            logger.error("\(message)")
            return message
        }
        do {
            fresh = try reloadConfiguration()
        } catch {
            return failed("\(error)")
        }
        let restartOnly = restartOnlyChanges(from: running.settings, to: fresh.settings)
        keepRestartOnlySettings(of: running.settings, in: &fresh.settings)
        do {
            try install(fresh, replacing: running)
        } catch {
            return failed("\(error)")
        }
        // Into the log file as reopened.
        if !restartOnly.isEmpty {
            logger.warning("reload: a restart is needed to change \(restartOnly.joined(separator: ", "))")
        }
        logger.info("configuration reloaded")
        return nil
    }

    /// The console's SET: one setting of the running configuration changes, as a reload that
    /// found it changed in the file would apply it. Settings read from other files, and those
    /// that need a restart, are refused.
    func change(_ key: String, to value: String) throws(SettingChangeError) {
        let running = main.configuration
        var fresh = running
        guard !["auth_file", "auth_hba_file"].contains(key) else {
            throw SettingChangeError(message: "\(key) names a file read at load time: change it in the configuration file and RELOAD")
        }
        try fresh.settings.change(key, to: value)
        guard restartOnlyChanges(from: running.settings, to: fresh.settings).isEmpty else {
            throw SettingChangeError(message: "\(key) takes effect only after a restart")
        }
        do {
            try install(fresh, replacing: running)
        } catch {
            throw SettingChangeError(message: "\(error)")
        }
        logger.info("SET \(key) = \(value)")
    }

    /// Hands `fresh` to every worker, with TLS contexts made from it; pools take its limits, and
    /// servers of databases whose connection settings changed are closed once released. The
    /// log file is opened again. Throws, changing nothing, when the TLS files or the log file
    /// cannot be used.
    private func install(_ fresh: Configuration, replacing running: Configuration) throws {
        let tls: TLSContexts
        do {
            tls = try TLSContexts(fresh.settings)
        } catch {
            throw StartError("TLS: \(error)")
        }
        try logSink?.reopen(fresh.settings.logfile)
        for worker in workers {
            main.onWorker(worker.index) { [fresh] worker in
                worker.configuration = fresh
                worker.tls = tls
                let retired = worker.retireServers(of: nil) { server in
                    let database = server.poolKey.database
                    guard let old = running.database(named: database), let new = fresh.database(named: database) else { return true }
                    return !old.opensServersLike(new)
                }
                if retired > 0 {
                    worker.logger.info("loop \(worker.index): \(retired) servers are closed once released: their database's connection settings changed")
                }
            }
        }
        main.applyPoolLimits()
        // Routing forgets the replicas it knew at their old addresses.
        for database in Array(main.replicaWatches.keys) {
            if let old = running.database(named: database), let new = fresh.database(named: database), old.opensServersLike(new) { continue }
            main.restartSplit(of: database)
        }
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
        fresh.user = running.user
        fresh.soReuseport = running.soReuseport
        fresh.pidfile = running.pidfile
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
        if old.user != new.user { names.append("user") }
        if old.soReuseport != new.soReuseport { names.append("so_reuseport") }
        if old.pidfile != new.pidfile { names.append("pidfile") }
        return names
    }

    /// Stops accepting, and has every worker stop (see `Worker.beginStopping`). Runs on the
    /// main worker.
    func beginStopping(_ mode: AdminCommand.ShutdownMode, cause: String) {
        let how = switch mode {
        case .immediate: "at once"
        case .waitForServers: "once transactions in flight finish"
        case .waitForClients: "once every client has disconnected"
        }
        logger.notice("\(cause): shutting down \(how)")
        for listener in listeners { listener.close() }
        listeners = []
        // Scrapes go to a successor started with -R, not to this process as it drains.
        main.metrics?.stopListening()
        for worker in workers {
            main.onWorker(worker.index) { $0.beginStopping(mode) }
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
        if let (path, identity) = unixSocket, identity != nil, FileIdentity(path) == identity {
            unlink(path)
        }
        for worker in workers {
            reporter.onWorker(worker.index) { $0.finishStopping() }
        }
    }
}
