import Testing
import PostgresWire
import SluiceAuth
import SluiceConfig
@testable import SluiceCore

/// What the login machine does about TLS: SSLRequest, refusing plaintext, SCRAM-SHA-256-PLUS.
@Suite struct ClientLoginTLSTests {
    func tlsPolicy(_ authType: AuthType, requires: Bool = false) -> ClientLoginPolicy {
        var tls = policy(authType, users: ["u": .plaintext("secret")])
        tls.offersTLS = true
        tls.requiresTLS = requires
        return tls
    }

    @Test func anSSLRequestStartsTLSOnceAndTheStartupFollowsInside() {
        var login = ClientLogin(tlsPolicy(.any))
        #expect(login.receive(.sslRequest) == [.startTLS])
        login.tlsEstablished(serverEndPoint: nil)
        #expect(login.isSecure && login.expectsStartupPacket)
        #expect(login.receive(.sslRequest) == [.reject(ErrorFields(code: "08P01", message: "SSLRequest over TLS"))])
    }

    @Test func gssEncryptionIsDeclinedEvenWithTLS() {
        var login = ClientLogin(tlsPolicy(.any))
        #expect(login.receive(.gssEncRequest) == [.send([UInt8(ascii: "N")])])
    }

    @Test func aPlaintextStartupIsRefusedWhenTLSIsRequired() {
        var plain = ClientLogin(tlsPolicy(.any, requires: true))
        guard case .reject(let error) = plain.receive(startup(["user": "u"])).first else {
            Issue.record("not refused")
            return
        }
        #expect(error.code == "28000" && error.message.contains("TLS is required"))
        var secure = ClientLogin(tlsPolicy(.any, requires: true))
        secure.tlsEstablished(serverEndPoint: nil)
        #expect(secure.receive(startup(["user": "u"])) == succeeded(identity("u")))
    }

    @Test func scramOverTLSOffersThePlusMechanismAndHoldsClientsToTheirChoice() throws {
        var login = ClientLogin(tlsPolicy(.scramSHA256))
        login.tlsEstablished(serverEndPoint: Array(repeating: 7, count: 32))
        #expect(login.receive(startup(["user": "u"])) == [.send(AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]).encoded)])
        // SCRAM-SHA-256-PLUS with the `n` flag (no binding) is a contradiction.
        let mismatched = try login.feed(FrontendMessage.saslInitialResponse(mechanism: "SCRAM-SHA-256-PLUS", data: Array("n,,n=,r=abc".utf8)))
        guard case .reject(let error) = mismatched.first else {
            Issue.record("accepted \(mismatched)")
            return
        }
        #expect(error.code == "08P01")
    }

    @Test func withoutTLSOnlyThePlainMechanism() {
        var login = ClientLogin(tlsPolicy(.scramSHA256))
        #expect(login.receive(startup(["user": "u"])) == [.send(AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-256"]).encoded)])
    }
}
