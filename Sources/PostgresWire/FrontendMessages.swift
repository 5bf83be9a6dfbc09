/// Builders and decoders for the frontend messages Sluice produces or reads.
public enum FrontendMessage {
    public static func query(_ text: String) -> [UInt8] {
        var writer = MessageWriter(capacity: text.utf8.count + 6)
        writer.message(FrontendMessageType.query) { $0.cString(text) }
        return writer.bytes
    }

    public static func decodeQuery(_ body: [UInt8]) -> String? {
        var reader = MessageReader(body)
        return reader.cString()
    }

    public static let terminate: [UInt8] = [FrontendMessageType.terminate, 0, 0, 0, 4]
    public static let sync: [UInt8] = [FrontendMessageType.sync, 0, 0, 0, 4]

    /// A PasswordMessage with a NUL-terminated password (cleartext or md5 response).
    public static func password(_ text: String) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(FrontendMessageType.password) { $0.cString(text) }
        return writer.bytes
    }

    public static func decodePassword(_ body: [UInt8]) -> String? {
        var reader = MessageReader(body)
        guard let text = reader.cString(), reader.remaining == 0 else { return nil }
        return text
    }

    public static func saslInitialResponse(mechanism: String, data: [UInt8]) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(FrontendMessageType.password) { body in
            body.cString(mechanism)
            body.int32(Int32(data.count))
            body.raw(data)
        }
        return writer.bytes
    }

    public static func decodeSASLInitialResponse(_ body: [UInt8]) -> (mechanism: String, data: [UInt8])? {
        var reader = MessageReader(body)
        guard let mechanism = reader.cString(), let length = reader.int32() else { return nil }
        if length == -1 { return (mechanism, []) }
        guard let data = reader.bytes(count: Int(length)), reader.remaining == 0 else { return nil }
        return (mechanism, data)
    }

    public static func saslResponse(_ data: [UInt8]) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(FrontendMessageType.password) { $0.raw(data) }
        return writer.bytes
    }
}

extension FrontendMessage {
    public static func copyFail(_ reason: String) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(FrontendMessageType.copyFail) { $0.cString(reason) }
        return writer.bytes
    }
}
