/// The first packet a client sends: no type byte, an Int32 length, then an Int32 code.
public enum StartupPacket: Sendable, Equatable {
    /// A StartupMessage: protocol version and the `name=value` parameters in the order sent.
    case startup(majorVersion: UInt16, minorVersion: UInt16, parameters: [StartupParameter])
    case sslRequest
    case gssEncRequest
    case cancel(BackendKey)

    public static let maximumLength = 10_000

    public enum DecodeResult: Sendable, Equatable {
        case needMoreBytes
        /// A whole packet, and how many bytes of the input it took.
        case packet(StartupPacket, consumed: Int)
        /// The bytes cannot be a startup packet; the text says why (for the client and the log).
        case invalid(String)
    }

    /// Decodes a packet from the start of `bytes`, which may hold more than one packet or a partial one.
    public static func decode(_ bytes: [UInt8]) -> DecodeResult {
        guard bytes.count >= 4 else { return .needMoreBytes }
        let length = Int(UInt32(bigEndianBytes: bytes, at: 0))
        guard length >= 8, length <= maximumLength else { return .invalid("invalid length of startup packet") }
        guard bytes.count >= length else { return .needMoreBytes }
        var reader = MessageReader(Array(bytes[0..<length]), offset: 4)
        guard let code = reader.int32().map({ UInt32(bitPattern: $0) }) else { return .invalid("invalid startup packet") }
        switch code {
        case StartupCode.sslRequest where length == 8:
            return .packet(.sslRequest, consumed: length)
        case StartupCode.gssEncRequest where length == 8:
            return .packet(.gssEncRequest, consumed: length)
        case StartupCode.cancelRequest where length == 16:
            guard let pid = reader.int32(), let secret = reader.int32() else { return .invalid("invalid cancel request") }
            return .packet(.cancel(BackendKey(processID: pid, secretKey: secret)), consumed: length)
        case StartupCode.sslRequest, StartupCode.gssEncRequest, StartupCode.cancelRequest:
            return .invalid("invalid length of startup packet")
        default:
            let major = UInt16(code >> 16), minor = UInt16(code & 0xFFFF)
            guard major == 3 else {
                return .invalid("unsupported frontend protocol \(major).\(minor): server supports 3.0 to 3.0")
            }
            var parameters: [StartupParameter] = []
            while reader.remaining > 1 {
                guard let name = reader.cString(), let value = reader.cString() else {
                    return .invalid("invalid startup packet layout: expected terminator as last byte")
                }
                parameters.append(StartupParameter(name: name, value: value))
            }
            guard reader.int8() == 0, reader.remaining == 0 else {
                return .invalid("invalid startup packet layout: expected terminator as last byte")
            }
            return .packet(.startup(majorVersion: major, minorVersion: minor, parameters: parameters), consumed: length)
        }
    }

    /// Encodes a StartupMessage for protocol 3.0, as Sluice sends it to PostgreSQL.
    public static func startupMessage(_ parameters: [StartupParameter]) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(nil) { body in
            body.int32(Int32(StartupCode.protocol3))
            for parameter in parameters {
                body.cString(parameter.name)
                body.cString(parameter.value)
            }
            body.int8(0)
        }
        return writer.bytes
    }

    /// The 8-byte packet that asks a server for TLS before the startup packet.
    public static let sslRequestPacket: [UInt8] = {
        var writer = MessageWriter()
        writer.message(nil) { $0.int32(Int32(bitPattern: StartupCode.sslRequest)) }
        return writer.bytes
    }()

    public static func cancelRequest(_ key: BackendKey) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(nil) { body in
            body.int32(Int32(bitPattern: StartupCode.cancelRequest))
            body.int32(key.processID)
            body.int32(key.secretKey)
        }
        return writer.bytes
    }
}

public struct StartupParameter: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The process ID and secret a backend (or Sluice, toward its clients) hands out for cancelling.
public struct BackendKey: Sendable, Hashable {
    public var processID: Int32
    public var secretKey: Int32
    public init(processID: Int32, secretKey: Int32) {
        self.processID = processID
        self.secretKey = secretKey
    }
}
