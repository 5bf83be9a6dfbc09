/// The extended-query messages that name a prepared statement, taken apart and put together
/// again so that Sluice can give a client's statement its own name on the server.
public enum ExtendedQueryMessage {
    /// Parse: the statement's name, and its definition (query text and parameter types) as the
    /// message carries them after the name.
    public static func decodeParse(_ body: [UInt8]) -> (name: String, definition: ArraySlice<UInt8>)? {
        guard let end = body.firstIndex(of: 0) else { return nil }
        return (String(decoding: body[..<end], as: UTF8.self), body[(end + 1)...])
    }

    public static func parse(name: String, definition: some Collection<UInt8>) -> [UInt8] {
        var writer = MessageWriter(capacity: name.utf8.count + definition.count + 6)
        writer.message(FrontendMessageType.parse) { body in
            body.cString(name)
            body.raw(definition)
        }
        return writer.bytes
    }

    /// Describe and Close: whether they name a statement (`S`) or a portal (`P`), and the name.
    public static func decodeTarget(_ body: [UInt8]) -> (kind: UInt8, name: String)? {
        guard body.count >= 2, body.last == 0, let end = body.dropFirst().firstIndex(of: 0), end == body.count - 1 else { return nil }
        return (body[0], String(decoding: body[1..<end], as: UTF8.self))
    }

    public static func describeStatement(_ name: String) -> [UInt8] {
        target(FrontendMessageType.describe, kind: statementKind, name: name)
    }

    public static func closeStatement(_ name: String) -> [UInt8] {
        target(FrontendMessageType.close, kind: statementKind, name: name)
    }

    /// The start of a Bind (its header, portal name and statement name) with `statement` in
    /// place of the client's name; the rest of the client's message follows it unchanged.
    /// `length` is the length field of the client's message, `oldNameLength` that of its statement name.
    public static func bindPrefix(length: Int, portal: some Collection<UInt8>, oldNameLength: Int, statement: String) -> [UInt8] {
        let newLength = length - oldNameLength + statement.utf8.count
        var bytes: [UInt8] = [FrontendMessageType.bind]
        bytes.reserveCapacity(6 + portal.count + statement.utf8.count)
        bytes += [UInt8(truncatingIfNeeded: newLength >> 24), UInt8(truncatingIfNeeded: newLength >> 16),
                  UInt8(truncatingIfNeeded: newLength >> 8), UInt8(truncatingIfNeeded: newLength)]
        bytes += portal
        bytes.append(0)
        bytes += statement.utf8
        bytes.append(0)
        return bytes
    }

    public static let statementKind = UInt8(ascii: "S")
    public static let portalKind = UInt8(ascii: "P")
    public static let parseComplete: [UInt8] = [BackendMessageType.parseComplete, 0, 0, 0, 4]
    public static let closeComplete: [UInt8] = [BackendMessageType.closeComplete, 0, 0, 0, 4]

    private static func target(_ type: UInt8, kind: UInt8, name: String) -> [UInt8] {
        var writer = MessageWriter(capacity: name.utf8.count + 7)
        writer.message(type) { body in
            body.int8(kind)
            body.cString(name)
        }
        return writer.bytes
    }
}
