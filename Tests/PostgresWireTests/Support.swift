import Testing
import PostgresWire

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func be32(_ value: Int32) -> [UInt8] {
    let raw = UInt32(bitPattern: value)
    return [UInt8(raw >> 24 & 0xFF), UInt8(raw >> 16 & 0xFF), UInt8(raw >> 8 & 0xFF), UInt8(raw & 0xFF)]
}

func be32(_ value: UInt32) -> [UInt8] { be32(Int32(bitPattern: value)) }

/// NUL-terminated UTF-8.
func cstr(_ text: String) -> [UInt8] { bytes(text) + [0] }

/// Splits one typed message into its type and body after checking that its length field is
/// exactly the message size minus the type byte.
func split(_ message: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> (type: UInt8, body: [UInt8]) {
    try #require(message.count >= 5, sourceLocation: sourceLocation)
    let length = Int(UInt32(bigEndianBytes: message, at: 1))
    #expect(length == message.count - 1, "length field", sourceLocation: sourceLocation)
    return (message[0], Array(message[5...]))
}

/// A typed message built by hand: type, Int32 length counting itself, body.
func typed(_ type: Character, _ body: [UInt8]) -> [UInt8] {
    [type.asciiValue!] + be32(Int32(body.count + 4)) + body
}

/// A startup-style packet built by hand: Int32 length counting itself, then the body.
func untyped(_ body: [UInt8]) -> [UInt8] { be32(Int32(body.count + 4)) + body }
