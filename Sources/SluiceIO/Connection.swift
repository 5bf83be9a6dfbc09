import Glibc

/// What a connection reports to its owner, always on the connection's loop.
public protocol ConnectionDelegate: AnyObject {
    /// A non-blocking connect finished successfully.
    func connectionEstablished(_ connection: Connection)
    /// New bytes are in `connection.input`; the delegate consumes what it can.
    func connectionReadable(_ connection: Connection)
    /// Everything queued for writing has been written.
    func connectionDrained(_ connection: Connection)
    /// The peer closed, reset, or the connect failed. The connection is already closed.
    func connectionClosed(_ connection: Connection, reason: ConnectionCloseReason)
}

public enum ConnectionCloseReason: Equatable, Sendable, CustomStringConvertible {
    case endOfFile
    case error(Int32)
    case connectFailed(Int32)

    public var description: String {
        switch self {
        case .endOfFile: "closed by peer"
        case .error(let code): String(cString: strerror(code))
        case .connectFailed(let code): "connect failed: \(String(cString: strerror(code)))"
        }
    }
}

/// Encryption between a connection and its socket (TLS), sans I/O: the connection hands it
/// the ciphertext it reads and sends the ciphertext it produces.
public protocol ConnectionSecurity: AnyObject {
    /// Ciphertext read from the socket.
    func receive(_ ciphertext: UnsafeRawBufferPointer) throws
    /// Decrypts into `buffer`, completing the handshake first: bytes written, and whether the
    /// peer ended the session.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> (count: Int, closed: Bool)
    func write(_ plaintext: UnsafeRawBufferPointer) throws
    /// Ciphertext to send: handshake messages, records, alerts.
    func takeOutput() -> [UInt8]
    var isEstablished: Bool { get }
}

/// A non-blocking stream socket on one loop. It owns a read buffer only while unread bytes
/// are in it, and queues what a write could not take until the socket is writable again.
/// With `security` set, the bytes it reads and writes are plaintext and the socket carries
/// their encryption.
public final class Connection: EventHandler {
    public let fd: Int32
    /// The loop that watches the socket; changed only by `detach` and `attach(to:)`.
    /// Unchecked: loops outlive their connections, and a checked reference costs an atomic
    /// retain and release at every read.
    public private(set) unowned(unsafe) var loop: EventLoop
    /// Held strongly until `close`, which lets it go: a weak reference would give every
    /// delegate a side table, and each retain and release of it the slow path.
    public var delegate: ConnectionDelegate?
    /// Bytes read and not yet consumed by the delegate; nil while there are none.
    public internal(set) var input: IOBuffer?
    private var pending: [UInt8] = []
    private var pendingStart = 0
    var reading = true
    private var connecting: Bool
    private var registered = false
    public private(set) var isClosed = false
    /// TLS on this connection, from `secure(with:)` on.
    public private(set) var security: ConnectionSecurity?
    /// Why the security layer failed, for the close reason.
    public private(set) var securityError: String?
    /// Set by `closeGracefully` until the peer closes or the wait ends.
    var lingerTimer: TimerID?

    /// Wraps an accepted or connecting descriptor and registers it with `loop`.
    public init(fd: Int32, loop: EventLoop, connecting: Bool = false) throws {
        self.fd = fd
        self.loop = loop
        self.connecting = connecting
        try loop.register(fd, interest: connecting ? .writable : .readable, handler: self)
        registered = true
    }

    /// Opens a non-blocking connection to a TCP host or a Unix socket directory (a host starting with "/").
    public static func connect(host: String, port: Int, loop: EventLoop) throws -> Connection {
        let fd = try Socket.connect(host: host, port: port)
        do {
            return try Connection(fd: fd, loop: loop, connecting: true)
        } catch {
            Socket.close(fd)
            throw error
        }
    }

    /// Opens a non-blocking connection to the first of `addresses` that takes one, and says which.
    public static func connect(to addresses: [ResolvedAddress], loop: EventLoop) throws -> (Connection, ResolvedAddress) {
        let (fd, address) = try Socket.connect(to: addresses)
        do {
            return (try Connection(fd: fd, loop: loop, connecting: true), address)
        } catch {
            Socket.close(fd)
            throw error
        }
    }

    /// True while queued bytes wait for the socket to become writable.
    public var hasPendingOutput: Bool { pendingStart < pending.count }

    /// Writes `bytes`, queueing what the socket does not take now. Returns false when bytes were
    /// queued, so the caller can stop reading from the source until `connectionDrained`.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        if security != nil { return bytes.withUnsafeBytes { sendSecurely($0) } }
        return sendRaw(bytes)
    }

    /// Writes `count` unread bytes of `buffer` starting `offset` past its read index, queueing the rest.
    @discardableResult
    public func send(from buffer: IOBuffer, offset: Int = 0, count: Int) -> Bool {
        if security != nil { return buffer.withUnreadBytes(offset: offset, count: count) { sendSecurely($0) } }
        return transmit(count: count, write: { buffer.write(to: fd, offset: offset, count: count) },
                        rest: { buffer.copyBytes(at: offset + $0, count: count - $0)[...] })
    }

    /// From now on the connection's bytes are encrypted by `security`; what it has to say
    /// first (a client's handshake) goes out at once. `replayingInput`: the unread input is
    /// already ciphertext (a TLS ClientHello read before TLS was known to start).
    public func secure(with security: ConnectionSecurity, replayingInput: Bool = false) {
        self.security = security
        _ = sendRaw(security.takeOutput())
        guard replayingInput, let buffer = input, !buffer.isEmpty else { return }
        let ciphertext = buffer.copyBytes(at: 0, count: buffer.readableCount)
        buffer.clear()
        ciphertext.withUnsafeBytes { absorb($0) }
    }

    private func sendRaw(_ bytes: [UInt8]) -> Bool {
        transmit(count: bytes.count, write: { Socket.write(fd, bytes) }, rest: { bytes[$0...] })
    }

    private func sendSecurely(_ plaintext: UnsafeRawBufferPointer) -> Bool {
        guard let security, !isClosed else { return !isClosed }
        do {
            try security.write(plaintext)
        } catch {
            securityFailed(error)
            return true
        }
        return sendRaw(security.takeOutput())
    }

    /// One write of `count` bytes, or none while earlier output waits; `rest(n)` copies what
    /// follows the first `n` bytes, for the queue.
    private func transmit(count: Int, write: () -> IOResult, rest: (Int) -> ArraySlice<UInt8>) -> Bool {
        guard !isClosed, count > 0 else { return !isClosed }
        if hasPendingOutput || connecting {
            pending.append(contentsOf: rest(0))
            return false
        }
        switch write() {
        case .bytes(let written) where written == count:
            return true
        case .bytes(let written):
            queue(rest(written))
        case .wouldBlock:
            queue(rest(0))
        case .endOfFile, .failed:
            // The hang-up event that follows reports the failure to the delegate.
            return true
        }
        return false
    }

    public func pauseReading() {
        guard reading else { return }
        reading = false
        updateInterest()
    }

    public func resumeReading() {
        guard !reading else { return }
        reading = true
        updateInterest()
    }

    /// Returns the read buffer to the loop's pool if the delegate consumed everything.
    public func releaseInputIfEmpty() {
        if let buffer = input, buffer.isEmpty {
            loop.buffers.give(buffer)
            input = nil
        }
    }

    /// Moves the unread bytes into a buffer that holds at least `capacity` bytes, for a message
    /// its owner must see whole that is larger than the loop's buffers. The larger buffer is
    /// dropped, not pooled, once drained.
    public func enlargeInput(toHold capacity: Int) {
        guard let old = input, old.capacity < capacity else { return }
        let larger = IOBuffer(capacity: capacity)
        _ = larger.append(from: old, offset: 0, count: old.readableCount)
        loop.buffers.give(old)
        input = larger
    }

    /// Takes the socket off its loop so that another loop's thread can adopt it with
    /// `attach(to:)`. Call on the current loop's thread; until `attach`, nothing may use the
    /// connection. Unread bytes and queued output travel with it.
    public func detach() {
        guard !isClosed else { return }
        if registered {
            loop.unregister(fd)
            registered = false
        }
        releaseInputIfEmpty()
    }

    /// Registers a detached connection with `loop`; call on that loop's thread.
    public func attach(to loop: EventLoop) {
        self.loop = loop
        updateInterest()
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        if let lingerTimer { loop.cancel(lingerTimer) }
        lingerTimer = nil
        if registered { loop.unregister(fd) }
        Socket.close(fd)
        if let buffer = input { loop.buffers.give(buffer) }
        input = nil
        pending = []
        pendingStart = 0
        delegate = nil
    }

    public func handle(_ events: IOEvents) {
        if lingerTimer != nil { return linger() }
        if connecting {
            finishConnect()
            return
        }
        // While reading is paused a hang-up or error is learned by writing the queued output
        // (and otherwise on resuming), never by reading: a paused connection takes in no bytes.
        if hasPendingOutput, events.contains(.writable) || (!reading && !events.isDisjoint(with: .hangUp)) { flush() }
        if !isClosed, reading { readAvailable() }
    }

    private func finishConnect() {
        connecting = false
        let error = Socket.pendingError(fd)
        if error != 0 {
            fail(.connectFailed(error))
            return
        }
        updateInterest()
        delegate?.connectionEstablished(self)
        if !isClosed && hasPendingOutput { flush() }
    }

    private func readAvailable() {
        if security != nil { return readSecurely() }
        let buffer = input ?? loop.buffers.take()
        input = buffer
        if buffer.writableCount == 0 { buffer.compact() }
        guard buffer.writableCount > 0 else {
            // The owner left a full buffer unconsumed: it can never make progress, and the
            // level-triggered readiness would otherwise wake the loop forever.
            fail(.error(ENOBUFS))
            return
        }
        switch buffer.read(from: fd) {
        case .bytes:
            delegate?.connectionReadable(self)
            if !isClosed { releaseInputIfEmpty() }
        case .wouldBlock:
            releaseInputIfEmpty()
        case .endOfFile:
            fail(.endOfFile)
        case .failed(let code):
            fail(.error(code))
        }
    }

    /// Reads ciphertext for the security layer.
    private func readSecurely() {
        let raw = loop.buffers.take()
        defer { loop.buffers.give(raw) }
        raw.clear()
        switch raw.read(from: fd) {
        case .bytes:
            break
        case .wouldBlock:
            return
        case .endOfFile:
            return fail(.endOfFile)
        case .failed(let code):
            return fail(.error(code))
        }
        raw.withUnreadBytes(count: raw.readableCount) { absorb($0) }
    }

    /// Gives ciphertext to the security layer, answers what the handshake needs, decrypts into
    /// `input`, and tells the delegate of plaintext and of the handshake completing.
    private func absorb(_ ciphertext: UnsafeRawBufferPointer) {
        guard let security else { return }
        let wasEstablished = security.isEstablished
        var decrypted = 0
        var closed = false
        do {
            try security.receive(ciphertext)
            var wanted = 1
            while !closed {
                // While the plaintext fills the buffer, more room: nothing decrypted may stay
                // inside OpenSSL, where no readiness event would bring it out.
                makeRoom(for: wanted)
                wanted = 16_384
                guard let buffer = input else { break }
                let room = buffer.writableCount
                let count = try buffer.appending { pointer, room in
                    let result = try security.read(into: pointer, capacity: room)
                    closed = result.closed
                    return result.count
                }
                decrypted += count
                guard count == room else { break }
            }
        } catch {
            securityFailed(error)
            return
        }
        _ = sendRaw(security.takeOutput())
        if decrypted > 0 || security.isEstablished != wasEstablished {
            delegate?.connectionReadable(self)
        }
        if closed { return fail(.endOfFile) }
        if !isClosed { releaseInputIfEmpty() }
    }

    /// An input buffer with at least `room` bytes free after its unread bytes.
    private func makeRoom(for room: Int) {
        let buffer = input ?? loop.buffers.take()
        input = buffer
        if buffer.writableCount < room { buffer.compact() }
        if buffer.writableCount < room { enlargeInput(toHold: buffer.readableCount + room) }
    }

    private func securityFailed(_ error: Error) {
        securityError = "\(error)"
        if let security { _ = sendRaw(security.takeOutput()) }   // the alert, if any
        fail(.error(EPROTO))
    }

    func flush() {
        while hasPendingOutput {
            let result = pending.withUnsafeBytes { raw in
                Socket.write(fd, raw.baseAddress! + pendingStart, raw.count - pendingStart)
            }
            switch result {
            case .bytes(let written):
                pendingStart += written
            case .wouldBlock:
                updateInterest()
                return
            case .endOfFile:
                fail(.endOfFile)
                return
            case .failed(let code):
                fail(.error(code))
                return
            }
        }
        pending = []
        pendingStart = 0
        updateInterest()
        delegate?.connectionDrained(self)
    }

    private func queue(_ bytes: ArraySlice<UInt8>) {
        pending.append(contentsOf: bytes)
        updateInterest()
    }

    /// Wanting nothing (paused, nothing queued) takes the descriptor out of epoll, which would
    /// otherwise keep reporting a peer's hang-up (EPOLLHUP cannot be masked) to a paused reader.
    /// The loop holds no reference to the connection meanwhile; its owner does.
    func updateInterest() {
        guard !isClosed else { return }
        var interest: IOEvents = []
        if reading { interest.insert(.readable) }
        if hasPendingOutput || connecting { interest.insert(.writable) }
        if interest.isEmpty {
            if registered {
                loop.unregister(fd)
                registered = false
            }
        } else if registered {
            loop.setInterest(fd, interest)
        } else {
            do {
                try loop.register(fd, interest: interest, handler: self)
                registered = true
            } catch let error as SocketError {
                fail(.error(error.code))
            } catch {
                fail(.error(EINVAL))
            }
        }
    }

    private func fail(_ reason: ConnectionCloseReason) {
        guard !isClosed else { return }
        let delegate = delegate
        close()
        delegate?.connectionClosed(self, reason: reason)
    }
}
