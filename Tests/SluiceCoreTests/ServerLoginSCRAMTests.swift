import Testing
import PostgresWire
import SluiceAuth
@testable import SluiceCore

/// ServerLogin's SCRAM-SHA-256 against a real `ScramServer` playing PostgreSQL.
@Suite struct ServerLoginSCRAMTests {
    private let salt = bytes("pg-salt-16-bytes")
    private let clientNonce = bytes("sluicenonce")
    private var verifier: ScramVerifier { ScramServer.makeVerifier(password: "pencil", salt: salt, iterations: 4096) }
    private let offer = AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])

    /// Drives the SASL exchange; returns the server's outcome for client-final and what ServerLogin did with SASLFinal.
    private func run(_ credential: ServerCredential, server: inout ScramServer) throws
        -> (clientFinalResult: Result<[UInt8], ScramError>, afterFinal: [ServerLogin.Action]?) {
        var login = ServerLogin(user: "alice", credential: credential, nonce: clientNonce)
        let initial = try login.feed(offer.encoded)
        guard case .send(let initialMessage) = try #require(initial.first), initial.count == 1 else {
            Issue.record("\(initial)")
            return (.failure(.outOfSequence), nil)
        }
        let (type, body) = try split(initialMessage)
        #expect(type == FrontendMessageType.password)
        let decoded = try #require(FrontendMessage.decodeSASLInitialResponse(body))
        #expect(decoded.mechanism == "SCRAM-SHA-256")
        #expect(decoded.data == bytes("n,,n=,r=sluicenonce"))
        let serverFirst = try server.receiveClientFirst(decoded.data).get()

        let response = try login.feed(AuthenticationRequest.saslContinue(serverFirst).encoded)
        guard case .send(let responseMessage) = try #require(response.first), response.count == 1 else {
            Issue.record("\(response)")
            return (.failure(.outOfSequence), nil)
        }
        let (responseType, clientFinal) = try split(responseMessage)
        #expect(responseType == FrontendMessageType.password)
        let result = server.receiveClientFinal(clientFinal)
        guard case .success(let serverFinal) = result else { return (result, nil) }
        let afterFinal = try login.feed(AuthenticationRequest.saslFinal(serverFinal).encoded)
        let afterOk = try login.feed(AuthenticationRequest.ok.encoded)
        guard afterFinal.isEmpty else {
            // AuthenticationOk must not stand in for a server signature that failed to verify:
            // once failed, the login reads nothing more.
            #expect(afterOk == [])
            #expect(login.isFinished)
            return (result, afterFinal)
        }
        #expect(afterOk == [])
        let key = BackendKey(processID: 1, secretKey: 2)
        _ = try login.feed(BackendMessage.backendKeyData(key))
        #expect(try login.feed(BackendMessage.readyForQuery(.idle)) == [.ready(parameters: [], key: key)])
        return (result, afterFinal)
    }

    @Test func withPassword() throws {
        var server = ScramServer(secret: .verifier(verifier), serverNonce: bytes("servernonce"))
        let outcome = try run(.password("pencil"), server: &server)
        #expect(throws: Never.self) { try outcome.clientFinalResult.get() }
        #expect(outcome.afterFinal == [])
        #expect(server.recoveredClientKey == expectedClientKey(password: "pencil", salt: salt))
    }

    @Test func withPasswordAgainstPlaintextServer() throws {
        var server = ScramServer(secret: .password("pencil"), serverNonce: bytes("servernonce"))
        let outcome = try run(.password("pencil"), server: &server)
        #expect(outcome.afterFinal == [])
    }

    @Test func withScramKeysPassThrough() throws {
        let clientKey = expectedClientKey(password: "pencil", salt: salt)
        var server = ScramServer(secret: .verifier(verifier), serverNonce: bytes("servernonce"))
        let outcome = try run(.scramKeys(clientKey: clientKey, serverKey: verifier.serverKey), server: &server)
        #expect(outcome.afterFinal == [])
        #expect(server.recoveredClientKey == clientKey)
    }

    @Test func wrongPasswordIsRejectedByTheServer() throws {
        var server = ScramServer(secret: .verifier(verifier), serverNonce: bytes("servernonce"))
        let outcome = try run(.password("Pencil"), server: &server)
        #expect(throws: ScramError.invalidProof) { try outcome.clientFinalResult.get() }
        // PostgreSQL then sends an ErrorResponse, which fails the login with its SQLSTATE.
        var login = ServerLogin(user: "alice", credential: .password("Pencil"), nonce: clientNonce)
        let error = ErrorFields(code: "28P01", message: "password authentication failed for user \"alice\"")
        #expect(try login.feed(error.encoded()) == [.failed(error)])
    }

    @Test func wrongServerKeyIsDetected() throws {
        // The server proves knowledge of a different ServerKey: its signature must be refused.
        let clientKey = expectedClientKey(password: "pencil", salt: salt)
        var server = ScramServer(secret: .verifier(verifier), serverNonce: bytes("servernonce"))
        let outcome = try run(.scramKeys(clientKey: clientKey, serverKey: [UInt8](repeating: 1, count: 32)), server: &server)
        #expect(outcome.afterFinal == [.failed(ErrorFields(code: "28000", message: "the server's SCRAM signature is invalid: it does not know the password"))])
    }

    @Test func forgedServerSignatureIsRefused() throws {
        var login = ServerLogin(user: "alice", credential: .password("pencil"), nonce: clientNonce)
        _ = try login.feed(offer.encoded)
        var server = ScramServer(secret: .verifier(verifier), serverNonce: bytes("servernonce"))
        let serverFirst = try server.receiveClientFirst(bytes("n,,n=,r=sluicenonce")).get()
        _ = try login.feed(AuthenticationRequest.saslContinue(serverFirst).encoded)
        let forged = bytes("v=" + Base64.encode([UInt8](repeating: 0, count: 32)))
        #expect(try login.feed(AuthenticationRequest.saslFinal(forged).encoded)
            == [.failed(ErrorFields(code: "28000", message: "the server's SCRAM signature is invalid: it does not know the password"))])
    }

    @Test func badServerFirstIsRefused() throws {
        var login = ServerLogin(user: "alice", credential: .password("pencil"), nonce: clientNonce)
        _ = try login.feed(offer.encoded)
        // A nonce that does not extend ours.
        #expect(try login.feed(AuthenticationRequest.saslContinue(bytes("r=othernonce,s=c2FsdA==,i=4096")).encoded)
            == [.failed(ErrorFields(code: "28000", message: "SCRAM exchange with the server failed: nonceMismatch"))])
    }

    @Test func saslWithoutSCRAMSHA256() throws {
        var login = ServerLogin(user: "alice", credential: .password("pencil"), nonce: clientNonce)
        #expect(try login.feed(AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "OAUTHBEARER"]).encoded)
            == [.failed(ErrorFields(code: "28000",
                                    message: "server offers no supported SASL mechanism (SCRAM-SHA-256-PLUS, OAUTHBEARER)"))])
    }

    @Test func saslStepsOutOfOrder() throws {
        var login = ServerLogin(user: "alice", credential: .password("pencil"), nonce: clientNonce)
        #expect(try login.feed(AuthenticationRequest.saslContinue(bytes("r=x,s=c2FsdA==,i=1")).encoded)
            == [.failed(ErrorFields(code: "08P01", message: "server sent authentication request AuthenticationSASLContinue before authentication: login abandoned"))])
        var final = ServerLogin(user: "alice", credential: .password("pencil"), nonce: clientNonce)
        #expect(try final.feed(AuthenticationRequest.saslFinal(bytes("v=AAAA")).encoded)
            == [.failed(ErrorFields(code: "08P01", message: "server sent authentication request AuthenticationSASLFinal before authentication: login abandoned"))])
    }
}
