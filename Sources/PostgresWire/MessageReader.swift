/// Reads the body of one protocol message. Every read is bounds-checked and returns nil
/// past the end, so a malformed message can never crash the decoder.
public struct MessageReader: Sendable {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    public mutating func int8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func int16() -> Int16? {
        guard remaining >= 2 else { return nil }
        defer { offset += 2 }
        return Int16(bitPattern: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))
    }

    public mutating func int32() -> Int32? {
        guard remaining >= 4 else { return nil }
        defer { offset += 4 }
        return Int32(bitPattern: UInt32(bigEndianBytes: bytes, at: offset))
    }

    /// A NUL-terminated string, decoded as UTF-8 (invalid sequences repaired).
    public mutating func cString() -> String? {
        guard let end = bytes[offset...].firstIndex(of: 0) else { return nil }
        defer { offset = end + 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    public mutating func bytes(count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[offset...])
    }
}

extension UInt32 {
    /// The big-endian value of the four bytes at `offset`; the caller checks the bounds.
    @inlinable
    public init(bigEndianBytes bytes: some RandomAccessCollection<UInt8>, at offset: Int) {
        let start = bytes.index(bytes.startIndex, offsetBy: offset)
        var value: UInt32 = 0
        for byte in bytes[start..<bytes.index(start, offsetBy: 4)] { value = value << 8 | UInt32(byte) }
        self = value
    }
}
