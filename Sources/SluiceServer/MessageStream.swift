import SluiceIO

/// Walks the protocol messages in a connection's read buffer by their 5-byte headers.
///
/// Most messages are passed through without being looked at; a message the owner wants to
/// see (`decide`) is shown to it whole, or only its start, once that much has arrived. A
/// message that is passed through, or whose rest is, may span many reads:
/// `remainingPassThrough` carries its tail over.
struct MessageStream {
    /// How much of a message the owner wants to see.
    enum Decision {
        /// None: pass it on with the surrounding bytes.
        case pass
        /// All of it.
        case whole
        /// Its first `n` body bytes (all of a shorter body); the rest passes through unseen.
        case prefix(Int)
    }

    /// What the owner does with a message it asked to see.
    enum Verdict {
        /// Pass it on with the surrounding bytes.
        case forward
        /// Leave it out of what is forwarded (whole messages only).
        case drop
        /// Stop here: forward what came before, leave this message and the rest unread.
        case stop
        /// Leave this message out, then stop: the rest stays unread (whole messages only).
        case dropAndStop
        /// Send `bytes` in place of the message's first `count` bytes (header included); the
        /// rest of the message follows unchanged.
        case replace([UInt8], count: Int)
        /// Pass the message on, then send `bytes` (whole messages only).
        case forwardThen([UInt8])
    }

    enum Outcome: Equatable {
        /// Everything readable was handled.
        case consumed
        /// Stopped on the owner's verdict; the rest stays in the buffer.
        case stopped
        /// A message the owner must see is larger than the buffer: give the connection a
        /// buffer of at least this many bytes and scan again when more has arrived.
        case needsRoom(Int)
        /// A message the owner must see whole is longer than `maximumInspectedLength`.
        case tooLarge(Int)
        /// A message longer than `maximumMessageLength` (max_packet_size), of this size.
        case exceedsMaximum(Int)
        /// A header no PostgreSQL peer would send: close the connection.
        case malformed
    }

    private(set) var remainingPassThrough = 0
    /// The decision for a message seen only in part so far, so `decide` sees each header once.
    private var pendingDecision: Decision?
    let maximumInspectedLength: Int
    /// The longest message (type byte excluded) the peer may send at all.
    let maximumMessageLength: Int

    init(maximumInspectedLength: Int = 1 << 20, maximumMessageLength: Int = Int.max) {
        self.maximumInspectedLength = maximumInspectedLength
        self.maximumMessageLength = maximumMessageLength
    }

    /// Scans `buffer`, calling `forward(offset, count)` for each run of bytes to pass on,
    /// `insert(bytes)` for bytes the owner puts in their place, and `inspect(type, body)` for
    /// each message (or start of one) that `decide(type, length)` asked to see. `decide` sees
    /// every header exactly once. Consumes what it handled from the buffer.
    mutating func scan(
        _ buffer: IOBuffer,
        decide: (_ type: UInt8, _ length: Int) -> Decision,
        inspect: (UInt8, MessageBody) -> Verdict,
        forward: (_ offset: Int, _ count: Int) -> Void,
        insert: ([UInt8]) -> Void = { _ in }
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
            guard length <= maximumMessageLength else { outcome = .exceedsMaximum(1 + length); break }
            let decision = pendingDecision ?? decide(type, length)
            pendingDecision = nil
            let seen: Int
            switch decision {
            case .pass:
                remainingPassThrough = 1 + length
                continue
            case .whole:
                guard length <= maximumInspectedLength else { outcome = .tooLarge(1 + length); break scanning }
                seen = length - 4
            case .prefix(let count):
                seen = min(count, length - 4)
            }
            guard readable - offset >= 5 + seen else {
                pendingDecision = decision
                if 5 + seen > buffer.capacity { outcome = .needsRoom(5 + seen) }
                break
            }
            let whole = seen == length - 4
            switch inspect(type, MessageBody(buffer: buffer, offset: offset + 5, count: seen, length: length - 4)) {
            case .forward:
                offset += 5 + seen
                remainingPassThrough = length - 4 - seen
            case .drop where whole:
                if offset > runStart { forward(runStart, offset - runStart) }
                offset += 1 + length
                runStart = offset
            case .dropAndStop where whole:
                if offset > runStart { forward(runStart, offset - runStart) }
                offset += 1 + length
                runStart = offset
                outcome = .stopped
                break scanning
            case .stop:
                outcome = .stopped
                break scanning
            case .replace(let bytes, let count):
                if offset > runStart { forward(runStart, offset - runStart) }
                insert(bytes)
                offset += count
                runStart = offset
                remainingPassThrough = 1 + length - count
            case .forwardThen(let bytes) where whole:
                offset += 1 + length
                forward(runStart, offset - runStart)
                insert(bytes)
                runStart = offset
            case .drop, .dropAndStop, .forwardThen:
                preconditionFailure("a verdict for whole messages given on part of one")
            }
        }
        if offset > runStart { forward(runStart, offset - runStart) }
        buffer.consume(offset)
        return outcome
    }

    /// Scans with a yes-or-no choice of the messages to see whole.
    mutating func scan(
        _ buffer: IOBuffer,
        wantsBody: (UInt8) -> Bool,
        inspect: (UInt8, MessageBody) -> Verdict,
        forward: (_ offset: Int, _ count: Int) -> Void
    ) -> Outcome {
        scan(buffer, decide: { type, _ in wantsBody(type) ? .whole : .pass }, inspect: inspect, forward: forward)
    }

    /// Reads whole messages only (login and Sluice's own queries): nothing is forwarded. No
    /// message there may be larger than the buffer.
    mutating func readWhole(_ buffer: IOBuffer, _ handle: (UInt8, [UInt8]) -> Verdict) -> Outcome {
        let outcome = scan(buffer, wantsBody: { _ in true }, inspect: { type, body in
            switch handle(type, body.bytes) {
            case .forward, .drop, .forwardThen, .replace: .drop
            case .stop: .stop
            case .dropAndStop: .dropAndStop
            }
        }, forward: { _, _ in })
        switch outcome {
        case .needsRoom, .tooLarge: return .malformed
        default: return outcome
        }
    }
}

/// The body of a message still in the read buffer, or its first `count` bytes: read a byte in
/// place, or copy them out.
struct MessageBody {
    let buffer: IOBuffer
    let offset: Int
    /// The bytes available here: all of the body, or the start the owner asked for.
    let count: Int
    /// The whole body's length.
    let length: Int

    var bytes: [UInt8] { buffer.copyBytes(at: offset, count: count) }

    /// The first byte, e.g. ReadyForQuery's transaction status; nil for an empty body.
    var firstByte: UInt8? { count > 0 ? buffer.byte(at: offset) : nil }

    func byte(at index: Int) -> UInt8 { buffer.byte(at: offset + index) }

    /// The position of the first NUL at or after `start`, within the available bytes.
    func terminator(from start: Int) -> Int? {
        var index = start
        while index < count {
            if byte(at: index) == 0 { return index }
            index += 1
        }
        return nil
    }

    func copy(_ range: Range<Int>) -> [UInt8] { buffer.copyBytes(at: offset + range.lowerBound, count: range.count) }
}
