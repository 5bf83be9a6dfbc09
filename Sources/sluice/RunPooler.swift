import Glibc
import Logging
import SluiceConfig
import SluiceServer

/// `sluice --check`: prints every warning and error; 0 when the configuration is valid.
func checkConfiguration(_ source: CommandLineOptions.Source) -> Int32 {
    do {
        let (_, warnings) = try source.load()
        for warning in warnings { printError("\(warning)\n") }
        print("\(source.description): configuration is valid")
        return 0
    } catch {
        for diagnostic in error.diagnostics { printError("\(diagnostic)\n") }
        return 1
    }
}

/// Loads the configuration, detaches (`-d`), opens the log, binds the listeners, then (as
/// PgBouncer does) switches user (`-u` or `user`), writes the pid file and runs the pooler
/// until a shutdown signal.
///
/// `-R` takes over from the Sluice its pid file names: that one is sent SIGTERM, so it stops
/// listening and serves its clients until they leave, while this one listens for new ones.
/// With so_reuseport both listen for a moment, so no connection is refused; without it this
/// one binds as soon as the other has let go. Open client connections stay where they are.
func runPooler(_ options: CommandLineOptions.Run) throws {
    let source = options.source
    let (configuration, warnings): (Configuration, [ConfigDiagnostic])
    do {
        (configuration, warnings) = try source.load()
    } catch {
        for diagnostic in error.diagnostics { printError("\(diagnostic)\n") }
        exit(1)
    }
    let settings = configuration.settings
    if options.daemon && (settings.pidfile == nil || settings.logfile == nil) {
        throw RunFailure("-d needs pidfile and logfile in the configuration: nothing is written to the terminal in the background")
    }
    let predecessor = settings.pidfile.flatMap(PidFile.runningProcess(named:))
    if let predecessor, !options.onlineRestart {
        throw RunFailure("pidfile \(settings.pidfile ?? "") names running process \(predecessor); stop it first or take over with -R")
    }
    let readiness = options.daemon ? try Daemon.detach() : nil
    let sink = try LogSink(path: settings.logfile)
    let level = options.logLevel
    LoggingSystem.bootstrap { _ in LineLogHandler(sink: sink, level: level) }
    let logger = Logger(label: "sluice")
    for warning in warnings { logger.warning("\(warning)") }

    // A user that cannot be switched to fails the start before anything is bound.
    if let user = options.user ?? settings.user { try UserSwitch.check(user) }
    let pooler = try Pooler(configuration: configuration, logger: logger, logSink: sink) {
        let (fresh, warnings) = try source.load()
        for warning in warnings { logger.warning("\(warning)") }
        return fresh
    }
    if let predecessor {
        logger.notice("taking over from process \(predecessor)\(settings.soReuseport ? " (so_reuseport: both listen meanwhile)" : "")")
        if !settings.soReuseport { kill(predecessor, SIGTERM) }
        try pooler.start(waitingForPort: settings.soReuseport ? 0 : 10, replacingSocket: true)
        if settings.soReuseport { kill(predecessor, SIGTERM) }
    } else {
        if options.onlineRestart { logger.notice("-R: no running Sluice found through the pidfile; starting afresh") }
        try pooler.start()
    }
    if let user = options.user ?? settings.user { try UserSwitch.become(user) }
    if let pidfile = settings.pidfile {
        try PidFile.write(to: pidfile)
    }
    readiness?.listening()
    logger.info("sluice \(SluiceVersion.current) started (pid \(getpid()))")
    try pooler.run()
    if let pidfile = settings.pidfile { PidFile.remove(pidfile) }
    logger.info("sluice stopped")
}
