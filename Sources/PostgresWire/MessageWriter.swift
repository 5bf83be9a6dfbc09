/// Builds protocol messages into a byte array: a type byte (none for startup packets), a
/// big-endian Int32 length that counts itself, then the body.
public struct MessageWriter: Sendable {
    public private(set) var bytes: [UInt8]
    private var lengthOffset = 0

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Starts a message with a type byte, or a startup-style packet when `type` is nil.
    public mutating func begin(_ type: UInt8?) {
        if let type { bytes.append(type) }
        lengthOffset = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0])
    }

    /// Fills in the length of the message started last.
    public mutating func finish() {
        let length = UInt32(bytes.count - lengthOffset)
        bytes[lengthOffset] = UInt8(truncatingIfNeeded: length >> 24)
        bytes[lengthOffset + 1] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[lengthOffset + 2] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[lengthOffset + 3] = UInt8(truncatingIfNeeded: length)
    }

    public mutating func int8(_ value: UInt8) { bytes.append(value) }

    public mutating func int16(_ value: Int16) {
        let raw = UInt16(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: raw >> 8))
        bytes.append(UInt8(truncatingIfNeeded: raw))
    }

    public mutating func int32(_ value: Int32) {
        let raw = UInt32(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: raw >> 24))
        bytes.append(UInt8(truncatingIfNeeded: raw >> 16))
        bytes.append(UInt8(truncatingIfNeeded: raw >> 8))
        bytes.append(UInt8(truncatingIfNeeded: raw))
    }

    /// A NUL-terminated string. Any NUL inside `text` would end it early, so it is dropped.
    /// (Copied in one go when it has none, the usual case: filtering byte by byte cost a SCRAM
    /// login tens of thousands of instructions across its messages.)
    public mutating func cString(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            if utf8.contains(0) {
                bytes.append(contentsOf: utf8.lazy.filter { $0 != 0 })
            } else {
                bytes.append(contentsOf: utf8)
            }
        }
        bytes.append(0)
    }

    public mutating func raw(_ data: some Sequence<UInt8>) { bytes.append(contentsOf: data) }

    /// One whole message: `begin`, the body written by `body`, `finish`.
    public mutating func message(_ type: UInt8?, _ body: (inout MessageWriter) -> Void) {
        begin(type)
        body(&self)
        finish()
    }
}
