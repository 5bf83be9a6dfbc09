import Glibc
import Logging
import SluiceIO

/// Writes log lines as `2026-11-22 05:41:15.123 UTC [pid] LEVEL message` to stderr or a file,
/// PgBouncer's layout, so existing log tooling keeps working.
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let sink: LogSink

    public init(sink: LogSink, level: Logger.Level) {
        self.sink = sink
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        sink.write("\(Self.timestamp()) [\(getpid())] \(Self.label(event.level)) \(event.message)\n")
    }

    private static func label(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "DEBUG"
        case .info, .notice: "LOG"
        case .warning: "WARNING"
        case .error: "ERROR"
        case .critical: "FATAL"
        }
    }

    private static func timestamp() -> String {
        WallClock.text(WallClock.now(), milliseconds: true)
    }
}

/// The time of day, for log lines and the admin console (UTC, as PgBouncer prints it).
enum WallClock {
    /// Seconds since the epoch.
    static func now() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// `2026-11-22 05:41:15 UTC`, with `.123` before ` UTC` when `milliseconds`.
    static func text(_ time: Double, milliseconds: Bool = false) -> String {
        var seconds = time_t(time.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let fraction = milliseconds ? "." + pad(Int32((time - time.rounded(.down)) * 1000), 3) : ""
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday)) "
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))\(fraction) UTC"
    }
}

/// Where log lines go: a file opened for appending, or stderr.
public final class LogSink: Sendable {
    private let descriptor: Guarded<Int32>

    /// Opens `path` for appending, or uses stderr when `path` is nil.
    public init(path: String?) throws {
        descriptor = Guarded(try Self.open(path))
    }

    /// Writes to `path` from now on (nil: stderr), reopened even when it is the same path: after
    /// logrotate moved the file away, SIGHUP starts a new one. Throws, keeping the old, when
    /// `path` cannot be opened.
    func reopen(_ path: String?) throws {
        let fd = try Self.open(path)
        let old = descriptor.withLock { current in
            defer { current = fd }
            return current
        }
        if old != 2 { close(old) }
    }

    private static func open(_ path: String?) throws -> Int32 {
        guard let path else { return 2 }
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw LogSinkError(path: path, code: errno) }
        return fd
    }

    func write(_ line: String) {
        descriptor.withLock { fd in
            let bytes = Array(line.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}

public struct LogSinkError: Error, CustomStringConvertible {
    public let path: String
    public let code: Int32
    public var description: String { "cannot open log file \(path): \(String(cString: strerror(code)))" }
}
