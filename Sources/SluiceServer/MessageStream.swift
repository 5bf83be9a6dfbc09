import SluiceIO

/// Walks the protocol messages in a connection's read buffer by their 5-byte headers.
///
/// Most messages are passed through without being looked at; a message the owner wants to
/// see whole (`wantsBody`) is copied out once complete. A long message that is only passed
/// through may span many reads: `remainingPassThrough` carries its tail over.
struct MessageStream {
    /// What the owner does with a message it asked to see.
    enum Verdict {
        /// Pass it on with the surrounding bytes.
        case forward
        /// Leave it out of what is forwarded.
        case drop
        /// Stop here: forward what came before, leave this message and the rest unread.
        case stop
        /// Leave this message out, then stop: the rest stays unread.
        case dropAndStop
    }

    enum Outcome: Equatable {
        /// Everything readable was handled.
        case consumed
        /// Stopped on the owner's verdict; the rest stays in the buffer.
        case stopped
        /// A header no PostgreSQL peer would send: close the connection.
        case malformed
    }

    private(set) var remainingPassThrough = 0
    let maximumInspectedLength: Int

    init(maximumInspectedLength: Int = 1 << 20) {
        self.maximumInspectedLength = maximumInspectedLength
    }

    /// Scans `buffer`, calling `forward(offset, count)` for each run of bytes to pass on, and
    /// `inspect(type, body)` for each whole message `wantsBody(type)` selects. Consumes what it
    /// handled from the buffer. `wantsBody` sees every header once, except that of a selected
    /// message still incomplete at the end of the buffer, which it sees again on the next scan.
    mutating func scan(
        _ buffer: IOBuffer,
        wantsBody: (UInt8) -> Bool,
        inspect: (UInt8, MessageBody) -> Verdict,
        forward: (_ offset: Int, _ count: Int) -> Void
    ) -> Outcome {
        var offset = 0
        var runStart = 0
        var outcome = Outcome.consumed
        let readable = buffer.readableCount
        scanning: while offset < readable {
            if remainingPassThrough > 0 {
                let step = min(remainingPassThrough, readable - offset)
                offset += step
                remainingPassThrough -= step
                continue
            }
            guard readable - offset >= 5 else { break }
            let type = buffer.byte(at: offset)
            let length = Int(buffer.uint32(at: offset + 1))
            guard length >= 4 else { outcome = .malformed; break }
            guard wantsBody(type) else {
                remainingPassThrough = 1 + length
                continue
            }
            guard length <= maximumInspectedLength else { outcome = .malformed; break }
            guard readable - offset >= 1 + length else {
                if 1 + length > buffer.capacity { outcome = .malformed }
                break
            }
            switch inspect(type, MessageBody(buffer: buffer, offset: offset + 5, count: length - 4)) {
            case .forward:
                offset += 1 + length
            case .drop:
                if offset > runStart { forward(runStart, offset - runStart) }
                offset += 1 + length
                runStart = offset
            case .stop:
                outcome = .stopped
                break scanning
            case .dropAndStop:
                if offset > runStart { forward(runStart, offset - runStart) }
                offset += 1 + length
                runStart = offset
                outcome = .stopped
                break scanning
            }
        }
        if offset > runStart { forward(runStart, offset - runStart) }
        buffer.consume(offset)
        return outcome
    }

    /// Reads whole messages only (login and Sluice's own queries): nothing is forwarded.
    mutating func readWhole(_ buffer: IOBuffer, _ handle: (UInt8, [UInt8]) -> Verdict) -> Outcome {
        scan(buffer, wantsBody: { _ in true }, inspect: { type, body in
            switch handle(type, body.bytes) {
            case .forward, .drop: .drop
            case .stop: .stop
            case .dropAndStop: .dropAndStop
            }
        }, forward: { _, _ in })
    }
}

/// The body of a whole message still in the read buffer: read a byte in place, or copy it out.
struct MessageBody {
    let buffer: IOBuffer
    let offset: Int
    let count: Int

    var bytes: [UInt8] { buffer.copyBytes(at: offset, count: count) }

    /// The first byte, e.g. ReadyForQuery's transaction status; nil for an empty body.
    var firstByte: UInt8? { count > 0 ? buffer.byte(at: offset) : nil }
}
