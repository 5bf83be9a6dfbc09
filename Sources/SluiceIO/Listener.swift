/// Accepts connections on a listening socket and hands each new descriptor to `onAccept`.
public final class Listener: EventHandler {
    public let fd: Int32
    public let address: String
    private unowned let loop: EventLoop
    private let onAccept: (Int32, String) -> Void
    private let onError: (SocketError) -> Void
    private var isClosed = false

    public init(fd: Int32, address: String, loop: EventLoop,
                onAccept: @escaping (_ fd: Int32, _ peer: String) -> Void,
                onError: @escaping (SocketError) -> Void) throws {
        self.fd = fd
        self.address = address
        self.loop = loop
        self.onAccept = onAccept
        self.onError = onError
        try loop.register(fd, interest: .readable, handler: self)
    }

    /// Accepts everything pending, so a burst of connections costs one wake-up.
    public func handle(_ events: IOEvents) {
        do {
            while let (client, peer) = try Socket.accept(fd) {
                onAccept(client, peer)
            }
        } catch let error as SocketError {
            onError(error)
            pauseAfterFailure()
        } catch {}
    }

    /// Out of descriptors (EMFILE, ENFILE) the pending connection stays queued and the socket
    /// stays readable: stop watching it for a moment instead of spinning.
    private func pauseAfterFailure() {
        loop.unregister(fd)
        loop.schedule(after: 0.1) { [weak self] in
            guard let self, !isClosed else { return }
            try? loop.register(fd, interest: .readable, handler: self)
        }
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        loop.unregister(fd)
        Socket.close(fd)
    }
}
