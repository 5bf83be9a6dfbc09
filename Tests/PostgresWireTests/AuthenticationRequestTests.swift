import Testing
import PostgresWire

@Suite struct AuthenticationRequestTests {
    @Test func exactBytes() {
        #expect(AuthenticationRequest.ok.encoded == [82, 0, 0, 0, 8, 0, 0, 0, 0])
        #expect(AuthenticationRequest.cleartextPassword.encoded == [82, 0, 0, 0, 8, 0, 0, 0, 3])
        #expect(AuthenticationRequest.md5Password(salt: [1, 2, 3, 4]).encoded == [82, 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4])
        #expect(AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-256"]).encoded
            == [82, 0, 0, 0, 23, 0, 0, 0, 10] + cstr("SCRAM-SHA-256") + [0])
        #expect(AuthenticationRequest.saslContinue(bytes("r=a,s=b,i=1")).encoded
            == [82, 0, 0, 0, 19, 0, 0, 0, 11] + bytes("r=a,s=b,i=1"))
        #expect(AuthenticationRequest.saslFinal(bytes("v=x")).encoded == [82, 0, 0, 0, 11, 0, 0, 0, 12] + bytes("v=x"))
        #expect(AuthenticationRequest.unsupported(code: 7).encoded == [82, 0, 0, 0, 8, 0, 0, 0, 7])
    }

    static let all: [AuthenticationRequest] = [
        .ok, .cleartextPassword, .md5Password(salt: [0xFF, 0, 0x80, 1]),
        .sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]), .sasl(mechanisms: []),
        .saslContinue(bytes("r=nonce,s=c2FsdA==,i=4096")), .saslContinue([]),
        .saslFinal(bytes("v=c2lnbmF0dXJl")), .saslFinal([0, 1, 2]),
        .unsupported(code: 2), .unsupported(code: 7), .unsupported(code: 9), .unsupported(code: -1),
    ]

    @Test(arguments: all)
    func roundTrip(request: AuthenticationRequest) throws {
        let (type, body) = try split(request.encoded)
        #expect(type == BackendMessageType.authentication)
        #expect(AuthenticationRequest(body: body) == request)
    }

    @Test func decodesKnownCodes() {
        #expect(AuthenticationRequest(body: [0, 0, 0, 0]) == .ok)
        #expect(AuthenticationRequest(body: [0, 0, 0, 3]) == .cleartextPassword)
        #expect(AuthenticationRequest(body: [0, 0, 0, 5, 9, 8, 7, 6]) == .md5Password(salt: [9, 8, 7, 6]))
        #expect(AuthenticationRequest(body: [0, 0, 0, 10] + cstr("A") + cstr("B") + [0]) == .sasl(mechanisms: ["A", "B"]))
        #expect(AuthenticationRequest(body: [0, 0, 0, 2]) == .unsupported(code: 2))   // KerberosV5
        #expect(AuthenticationRequest(body: [0, 0, 0, 7]) == .unsupported(code: 7))   // GSS
        #expect(AuthenticationRequest(body: [0, 0, 0, 9]) == .unsupported(code: 9))   // SSPI
    }

    @Test func malformedBodiesAreNil() {
        #expect(AuthenticationRequest(body: []) == nil)
        #expect(AuthenticationRequest(body: [0, 0, 0]) == nil)
        #expect(AuthenticationRequest(body: [0, 0, 0, 5, 1, 2, 3]) == nil)
        // SASL list without its empty-name terminator, or cut inside a name.
        #expect(AuthenticationRequest(body: [0, 0, 0, 10] + cstr("SCRAM-SHA-256")) == nil)
        #expect(AuthenticationRequest(body: [0, 0, 0, 10] + bytes("SCRAM")) == nil)
        #expect(AuthenticationRequest(body: [0, 0, 0, 10]) == nil)
    }
}
