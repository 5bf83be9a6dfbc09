import Glibc
import Logging
import SluiceConfig
import SluiceServer

/// `sluice --check`: prints every warning and error; 0 when the configuration is valid.
func checkConfiguration(at path: String) -> Int32 {
    do {
        let (_, warnings) = try ConfigurationLoader.load(path: path)
        for warning in warnings { printError("\(warning)\n") }
        print("\(path): configuration is valid")
        return 0
    } catch {
        for diagnostic in error.diagnostics { printError("\(diagnostic)\n") }
        return 1
    }
}

/// Loads the configuration, opens the log and pid file, and runs the pooler until a shutdown signal.
func runPooler(_ options: CommandLineOptions.Run) throws {
    let path = options.configPath
    let (configuration, warnings): (Configuration, [ConfigDiagnostic])
    do {
        (configuration, warnings) = try ConfigurationLoader.load(path: path)
    } catch {
        for diagnostic in error.diagnostics { printError("\(diagnostic)\n") }
        exit(1)
    }
    let settings = configuration.settings
    let sink = try LogSink(path: settings.logfile)
    let level = options.logLevel
    LoggingSystem.bootstrap { _ in LineLogHandler(sink: sink, level: level) }
    let logger = Logger(label: "sluice")
    for warning in warnings { logger.warning("\(warning)") }

    let pooler = try Pooler(configuration: configuration, logger: logger) {
        let (fresh, warnings) = try ConfigurationLoader.load(path: path)
        for warning in warnings { logger.warning("\(warning)") }
        return fresh
    }
    try pooler.start()
    if let pidfile = settings.pidfile {
        try PidFile.write(to: pidfile)
    }
    logger.info("sluice \(SluiceVersion.current) started")
    try pooler.run()
    if let pidfile = settings.pidfile { unlink(pidfile) }
    logger.info("sluice stopped")
}

enum PidFile {
    struct WriteError: Error, CustomStringConvertible {
        let path: String
        var description: String { "cannot write pidfile \(path): \(String(cString: strerror(errno)))" }
    }

    static func write(to path: String) throws {
        let text = "\(getpid())\n"
        guard let file = fopen(path, "w") else { throw WriteError(path: path) }
        defer { fclose(file) }
        guard fputs(text, file) >= 0 else { throw WriteError(path: path) }
    }
}
