import Testing
import PostgresWire

/// Every valid message body cut at every shorter length decodes to nil, and never crashes.
@Suite struct TruncationTests {
    private func everyPrefix<T>(of message: [UInt8], _ decode: ([UInt8]) -> T?, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let body = try split(message).body
        #expect(decode(body) != nil, "the whole body decodes", sourceLocation: sourceLocation)
        for count in 0..<body.count {
            #expect(decode(Array(body.prefix(count))) == nil, "prefix \(count) of \(body.count)", sourceLocation: sourceLocation)
        }
    }

    @Test func authenticationMD5() throws {
        try everyPrefix(of: AuthenticationRequest.md5Password(salt: [1, 2, 3, 4]).encoded, AuthenticationRequest.init(body:))
    }

    @Test func authenticationSASL() throws {
        try everyPrefix(of: AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]).encoded,
                        AuthenticationRequest.init(body:))
    }

    @Test func authenticationFixedCodes() throws {
        for request in [AuthenticationRequest.ok, .cleartextPassword, .saslContinue([1]), .saslFinal([1])] {
            let body = try split(request.encoded).body
            for count in 0..<4 { #expect(AuthenticationRequest(body: Array(body.prefix(count))) == nil) }
        }
    }

    @Test func parameterStatus() throws {
        try everyPrefix(of: BackendMessage.parameterStatus(name: "DateStyle", value: "ISO, MDY"), BackendMessage.decodeParameterStatus)
    }

    @Test func backendKeyData() throws {
        try everyPrefix(of: BackendMessage.backendKeyData(BackendKey(processID: 1, secretKey: 2)), BackendMessage.decodeBackendKeyData)
    }

    @Test func readyForQuery() throws {
        try everyPrefix(of: BackendMessage.readyForQuery(.idle), BackendMessage.decodeReadyForQuery)
    }

    @Test func errorResponse() throws {
        let fields = ErrorFields(code: "28P01", message: "password authentication failed", detail: "d", hint: "h")
        try everyPrefix(of: fields.encoded(), ErrorFields.init(body:))
    }

    @Test func query() throws {
        try everyPrefix(of: FrontendMessage.query("SELECT 1"), FrontendMessage.decodeQuery)
    }

    @Test func password() throws {
        try everyPrefix(of: FrontendMessage.password("secret"), FrontendMessage.decodePassword)
    }

    @Test func saslInitialResponse() throws {
        try everyPrefix(of: FrontendMessage.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: bytes("n,,n=,r=abc")),
                        { FrontendMessage.decodeSASLInitialResponse($0)?.data })
    }

    @Test func startupPacketBodiesAsDeclared() {
        // Startup packets whose length field matches a cut-down body: invalid, never a packet.
        let body = Array(handWrittenStartup.dropFirst(4))
        for count in 4..<body.count {
            let packet = untyped(Array(body.prefix(count)))
            guard case .invalid = StartupPacket.decode(packet) else {
                Issue.record("prefix \(count) decoded as \(StartupPacket.decode(packet))")
                continue
            }
        }
    }

    @Test func garbageNeverCrashes() {
        // Deterministic pseudo-random bodies through every decoder.
        var state: UInt32 = 12345
        for length in 0..<64 {
            var body: [UInt8] = []
            for _ in 0..<length {
                state = state &* 1_103_515_245 &+ 12345
                body.append(UInt8(truncatingIfNeeded: state >> 16) % 4 == 0 ? 0 : UInt8(truncatingIfNeeded: state >> 8))
            }
            _ = AuthenticationRequest(body: body)
            _ = AuthenticationRequest(body: [0, 0, 0, 10] + body)
            _ = AuthenticationRequest(body: [0, 0, 0, 5] + body)
            _ = ErrorFields(body: body)
            _ = BackendMessage.decodeParameterStatus(body)
            _ = BackendMessage.decodeBackendKeyData(body)
            _ = BackendMessage.decodeReadyForQuery(body)
            _ = FrontendMessage.decodeQuery(body)
            _ = FrontendMessage.decodePassword(body)
            _ = FrontendMessage.decodeSASLInitialResponse(body)
            #expect(StartupPacket.decode(untyped([0, 3, 0, 0] + body)) != .needMoreBytes)
        }
    }
}
