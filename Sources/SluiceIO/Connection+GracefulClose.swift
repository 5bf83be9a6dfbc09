extension Connection {
    /// Ends the connection so that the peer reads everything sent: what is queued is written,
    /// the sending side is shut (the peer reads the last bytes, then end of file), and what the
    /// peer still sends is read and dropped until it closes too, or `timeout` passes. Closing
    /// at once with unread input would make the kernel reset the connection, and a reset can
    /// destroy the last message (a FATAL error) before the peer has read it. The delegate hears
    /// nothing more.
    public func closeGracefully(within timeout: Double) {
        guard !isClosed, lingerTimer == nil else { return }
        delegate = nil
        if let buffer = input { loop.buffers.give(buffer) }
        input = nil
        // The timer holds the connection until it fires or the peer's close cancels it.
        lingerTimer = loop.schedule(after: timeout) { [self] in
            lingerTimer = nil
            close()
        }
        if !hasPendingOutput { Socket.shutdownWrite(fd) }
        reading = true
        updateInterest()
    }

    /// While closing gracefully: finishes writing, then drops input until the peer closes.
    func linger() {
        if hasPendingOutput {
            flush()
            guard !isClosed, !hasPendingOutput else { return }
            Socket.shutdownWrite(fd)
        }
        let scratch = loop.buffers.take()
        defer { loop.buffers.give(scratch) }
        while !isClosed {
            scratch.clear()
            switch scratch.read(from: fd) {
            case .bytes: continue
            case .wouldBlock: return
            case .endOfFile, .failed: close()
            }
        }
    }
}
