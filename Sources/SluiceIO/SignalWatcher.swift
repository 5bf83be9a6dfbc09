import CSluiceSys

/// Delivers SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to a loop through a signalfd.
/// Create it before starting any other thread, so every thread inherits the blocked mask.
public final class SignalWatcher: EventHandler {
    private let fd: Int32
    private let onSignal: (Int32) -> Void

    public init(loop: EventLoop, onSignal: @escaping (Int32) -> Void) throws {
        fd = sluice_signalfd_for_shutdown_and_reload()
        guard fd >= 0 else { throw SocketError("signalfd") }
        self.onSignal = onSignal
        try loop.register(fd, interest: .readable, handler: self)
    }

    public func handle(_ events: IOEvents) {
        while true {
            let signal = sluice_signalfd_read(fd)
            guard signal > 0 else { return }
            onSignal(signal)
        }
    }

    /// Makes writes to closed sockets fail with EPIPE instead of killing the process.
    public static func ignoreBrokenPipes() { sluice_ignore_sigpipe() }
}
