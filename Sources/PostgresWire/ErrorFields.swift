/// The fields of an ErrorResponse or NoticeResponse that Sluice reads or writes.
public struct ErrorFields: Sendable, Equatable, Error, CustomStringConvertible {
    public var severity: String
    public var code: String
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The server function that raised it (field R), which unlike the message is never translated.
    public var routine: String?

    public init(severity: String = "FATAL", code: String, message: String, detail: String? = nil, hint: String? = nil) {
        self.severity = severity
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    public var description: String { "\(severity) \(code) \(message)" }

    /// Decodes the body (after type and length) of an ErrorResponse or NoticeResponse.
    public init?(body: [UInt8]) {
        var reader = MessageReader(body)
        var fields: [UInt8: String] = [:]
        while true {
            guard let tag = reader.int8() else { return nil }   // the terminating NUL is required
            if tag == 0 { break }
            guard let value = reader.cString() else { return nil }
            fields[tag] = value
        }
        self.init(
            severity: fields[UInt8(ascii: "V")] ?? fields[UInt8(ascii: "S")] ?? "ERROR",
            code: fields[UInt8(ascii: "C")] ?? SQLState.internalError,
            message: fields[UInt8(ascii: "M")] ?? "",
            detail: fields[UInt8(ascii: "D")],
            hint: fields[UInt8(ascii: "H")]
        )
        routine = fields[UInt8(ascii: "R")]
    }

    /// An ErrorResponse (or, with `type` 'N', a NoticeResponse) carrying these fields.
    public func encoded(type: UInt8 = BackendMessageType.errorResponse) -> [UInt8] {
        var writer = MessageWriter()
        writer.message(type) { body in
            body.int8(UInt8(ascii: "S")); body.cString(severity)
            body.int8(UInt8(ascii: "V")); body.cString(severity)
            body.int8(UInt8(ascii: "C")); body.cString(code)
            body.int8(UInt8(ascii: "M")); body.cString(message)
            if let detail { body.int8(UInt8(ascii: "D")); body.cString(detail) }
            if let hint { body.int8(UInt8(ascii: "H")); body.cString(hint) }
            body.int8(0)
        }
        return writer.bytes
    }
}

/// The SQLSTATE codes Sluice itself reports.
public enum SQLState {
    public static let invalidPassword = "28P01"
    public static let invalidAuthorization = "28000"
    public static let invalidCatalogName = "3D000"
    public static let tooManyConnections = "53300"
    public static let protocolViolation = "08P01"
    public static let connectionFailure = "08006"
    public static let cannotConnectNow = "57P03"
    public static let adminShutdown = "57P01"
    public static let queryCanceled = "57014"
    public static let idleInTransactionTimeout = "25P03"
    public static let idleSessionTimeout = "57P05"
    public static let featureNotSupported = "0A000"
    public static let internalError = "XX000"
    public static let programLimitExceeded = "54000"
    public static let syntaxError = "42601"
    public static let insufficientPrivilege = "42501"
    public static let undefinedObject = "42704"
    public static let invalidParameterValue = "22023"
    public static let configFileError = "F0000"
    /// PostgreSQL's answer for a database that does not allow connections now.
    public static let objectNotInPrerequisiteState = "55000"
}
