import Testing
import PostgresWire

@Suite struct ErrorFieldsTests {
    @Test func exactBytes() {
        let fields = ErrorFields(code: "28P01", message: "bad")
        let body = cstrField("S", "FATAL") + cstrField("V", "FATAL") + cstrField("C", "28P01") + cstrField("M", "bad") + [0]
        #expect(fields.encoded() == typed("E", body))
        #expect(fields.encoded(type: BackendMessageType.noticeResponse) == typed("N", body))
    }

    @Test func exactBytesWithDetailAndHint() {
        let fields = ErrorFields(severity: "ERROR", code: "08P01", message: "m", detail: "d", hint: "h")
        let body = cstrField("S", "ERROR") + cstrField("V", "ERROR") + cstrField("C", "08P01") + cstrField("M", "m")
            + cstrField("D", "d") + cstrField("H", "h") + [0]
        #expect(fields.encoded() == typed("E", body))
    }

    @Test(arguments: [
        ErrorFields(code: SQLState.invalidPassword, message: "password authentication failed for user \"x\""),
        ErrorFields(severity: "ERROR", code: SQLState.protocolViolation, message: "m", detail: "the detail"),
        ErrorFields(severity: "WARNING", code: "01000", message: "", hint: "a hint"),
        ErrorFields(severity: "PANIC", code: "XX000", message: "ü", detail: "", hint: "h"),
    ])
    func roundTrip(fields: ErrorFields) throws {
        let (type, body) = try split(fields.encoded())
        #expect(type == BackendMessageType.errorResponse)
        #expect(ErrorFields(body: body) == fields)
    }

    @Test func decodesWhatPostgreSQLSends() {
        // PostgreSQL also sends file and line (not kept), the routine, and the non-localized severity in V.
        let body = cstrField("S", "FATAL") + cstrField("V", "FATAL") + cstrField("C", "3D000")
            + cstrField("M", "database \"x\" does not exist") + cstrField("F", "postinit.c") + cstrField("L", "941")
            + cstrField("R", "InitPostgres") + [0]
        var expected = ErrorFields(code: "3D000", message: "database \"x\" does not exist")
        expected.routine = "InitPostgres"
        #expect(ErrorFields(body: body) == expected)
    }

    @Test func localizedSeverityFallsBackToS() {
        #expect(ErrorFields(body: cstrField("S", "FATAL") + cstrField("C", "1") + cstrField("M", "m") + [0])
            == ErrorFields(severity: "FATAL", code: "1", message: "m"))
        #expect(ErrorFields(body: cstrField("S", "FEHLER") + cstrField("V", "ERROR") + cstrField("M", "m") + [0])?.severity
            == "ERROR")
    }

    @Test func missingFieldsGetDefaults() {
        #expect(ErrorFields(body: [0]) == ErrorFields(severity: "ERROR", code: SQLState.internalError, message: ""))
    }

    @Test func malformedBodiesAreNil() {
        #expect(ErrorFields(body: []) == nil)
        #expect(ErrorFields(body: [UInt8(ascii: "M")] + bytes("no terminator")) == nil)
        #expect(ErrorFields(body: cstrField("M", "m")) == nil)    // no final NUL
    }

    @Test func description() {
        #expect(ErrorFields(code: "53300", message: "too many").description == "FATAL 53300 too many")
    }

    @Test func sqlStates() {
        #expect(SQLState.invalidPassword == "28P01")
        #expect(SQLState.invalidAuthorization == "28000")
        #expect(SQLState.protocolViolation == "08P01")
        #expect(SQLState.tooManyConnections == "53300")
    }
}

func cstrField(_ tag: Character, _ value: String) -> [UInt8] { [tag.asciiValue!] + cstr(value) }
