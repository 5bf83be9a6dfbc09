/// Authentication requests, the `R` message's subtypes.
public enum AuthenticationRequest: Sendable, Equatable {
    case ok
    case cleartextPassword
    case md5Password(salt: [UInt8])
    case sasl(mechanisms: [String])
    case saslContinue([UInt8])
    case saslFinal([UInt8])
    /// Kerberos, GSSAPI, SSPI and the like, which Sluice does not speak toward PostgreSQL.
    case unsupported(code: Int32)

    public init?(body: [UInt8]) {
        var reader = MessageReader(body)
        guard let code = reader.int32() else { return nil }
        switch code {
        case 0: self = .ok
        case 3: self = .cleartextPassword
        case 5:
            guard let salt = reader.bytes(count: 4) else { return nil }
            self = .md5Password(salt: salt)
        case 10:
            var mechanisms: [String] = []
            while true {
                guard let name = reader.cString() else { return nil }   // the list ends with an empty name
                if name.isEmpty { break }
                mechanisms.append(name)
            }
            self = .sasl(mechanisms: mechanisms)
        case 11: self = .saslContinue(reader.rest())
        case 12: self = .saslFinal(reader.rest())
        default: self = .unsupported(code: code)
        }
    }

    public var encoded: [UInt8] {
        var writer = MessageWriter()
        writer.message(BackendMessageType.authentication) { body in
            switch self {
            case .ok: body.int32(0)
            case .cleartextPassword: body.int32(3)
            case .md5Password(let salt): body.int32(5); body.raw(salt)
            case .sasl(let mechanisms):
                body.int32(10)
                for mechanism in mechanisms { body.cString(mechanism) }
                body.int8(0)
            case .saslContinue(let data): body.int32(11); body.raw(data)
            case .saslFinal(let data): body.int32(12); body.raw(data)
            case .unsupported(let code): body.int32(code)
            }
        }
        return writer.bytes
    }
}

/// Builders and decoders for the other backend messages Sluice produces or reads.
public enum BackendMessage {
    /// A DataRow's columns as text; nil for SQL NULL (and for a column cut short).
    public static func decodeDataRow(_ body: [UInt8]) -> [String?] {
        var reader = MessageReader(body)
        let count = Int(reader.int16() ?? 0)
        return (0..<max(0, count)).map { _ in
            guard let length = reader.int32(), length >= 0, let bytes = reader.bytes(count: Int(length)) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    public static func parameterStatus(name: String, value: String) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(BackendMessageType.parameterStatus) { body in
            body.cString(name)
            body.cString(value)
        }
        return writer.bytes
    }

    public static func decodeParameterStatus(_ body: [UInt8]) -> StartupParameter? {
        var reader = MessageReader(body)
        guard let name = reader.cString(), let value = reader.cString() else { return nil }
        return StartupParameter(name: name, value: value)
    }

    public static func backendKeyData(_ key: BackendKey) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(BackendMessageType.backendKeyData) { body in
            body.int32(key.processID)
            body.int32(key.secretKey)
        }
        return writer.bytes
    }

    public static func decodeBackendKeyData(_ body: [UInt8]) -> BackendKey? {
        var reader = MessageReader(body)
        guard let pid = reader.int32(), let secret = reader.int32() else { return nil }
        return BackendKey(processID: pid, secretKey: secret)
    }

    public static func readyForQuery(_ status: TransactionStatus) -> [UInt8] {
        [BackendMessageType.readyForQuery, 0, 0, 0, 5, status.rawValue]
    }

    public static func decodeReadyForQuery(_ body: [UInt8]) -> TransactionStatus? {
        body.count == 1 ? TransactionStatus(rawValue: body[0]) : nil
    }

    /// NegotiateProtocolVersion: the newest minor version Sluice supports and the options it did not recognise.
    public static func negotiateProtocolVersion(newestMinor: Int32, unrecognizedOptions: [String]) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(BackendMessageType.negotiateProtocolVersion) { body in
            body.int32(newestMinor)
            body.int32(Int32(unrecognizedOptions.count))
            for option in unrecognizedOptions { body.cString(option) }
        }
        return writer.bytes
    }
}
