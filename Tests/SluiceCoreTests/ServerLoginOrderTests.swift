import Testing
import PostgresWire
import SluiceAuth
import SluiceConfig
@testable import SluiceCore

/// ServerLogin against a server that says things out of order, or asks for less than
/// `server_auth_methods` allows: each ends the login before a client's query could reach it.
@Suite struct ServerLoginOrderTests {
    private let nonce = bytes("sluicenonce")
    private let salt = bytes("pg-salt-16-bytes")
    private let key = BackendKey(processID: 7, secretKey: 8)

    private func isViolation(_ actions: [ServerLogin.Action]) -> Bool {
        guard actions.count == 1, case .failed(let error) = actions[0] else { return false }
        return error.code == SQLState.protocolViolation && error.message.hasSuffix("login abandoned")
    }

    private func isRefusal(_ actions: [ServerLogin.Action], containing text: String) -> Bool {
        guard actions.count == 1, case .failed(let error) = actions[0] else { return false }
        return error.code == SQLState.invalidAuthorization && error.message.contains(text)
    }

    /// A SCRAM login against a server that knows the password, driven up to the point where
    /// the server's SASLFinal is due, and that SASLFinal's content.
    private func scramUpToFinal() throws -> (login: ServerLogin, serverFinal: [UInt8]) {
        var server = ScramServer(secret: .verifier(ScramServer.makeVerifier(password: "pencil", salt: salt, iterations: 4096)),
                                 serverNonce: bytes("servernonce"))
        var login = ServerLogin(user: "alice", credential: .password("pencil"), nonce: nonce)
        let initial = try login.feed(AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-256"]).encoded)
        guard case .send(let message) = try #require(initial.first) else { throw HarnessFailure() }
        let decoded = try #require(FrontendMessage.decodeSASLInitialResponse(try split(message).body))
        let serverFirst = try server.receiveClientFirst(decoded.data).get()
        let response = try login.feed(AuthenticationRequest.saslContinue(serverFirst).encoded)
        guard case .send(let final) = try #require(response.first) else { throw HarnessFailure() }
        return (login, try server.receiveClientFinal(try split(final).body).get())
    }

    struct HarnessFailure: Error {}

    @Test func readyForQueryFirstIsRefusedWhateverTheCredential() throws {
        for credential in [ServerCredential.none, .password("pw"), .scramKeys(clientKey: [1], serverKey: [2])] {
            var login = ServerLogin(user: "u", credential: credential, nonce: nonce)
            #expect(isViolation(try login.feed(BackendMessage.readyForQuery(.idle))), "\(credential)")
            #expect(login.isFinished)
        }
    }

    @Test func sessionDataBeforeAuthenticationIsRefused() throws {
        let messages = [BackendMessage.parameterStatus(name: "server_version", value: "15"), BackendMessage.backendKeyData(key),
                        [BackendMessageType.dataRow, 0, 0, 0, 6, 0, 0], [BackendMessageType.commandComplete, 0, 0, 0, 5, 0]]
        for message in messages {
            var login = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce)
            #expect(isViolation(try login.feed(message)), "\(message)")
        }
    }

    @Test func afterAFailureNothingMoreIsRead() throws {
        var login = ServerLogin(user: "u", credential: .none, nonce: nonce)
        #expect(isViolation(try login.feed(BackendMessage.readyForQuery(.idle))))
        #expect(try login.feed(AuthenticationRequest.ok.encoded) == [])
        #expect(try login.feed(BackendMessage.readyForQuery(.idle)) == [])
    }

    @Test func scramSkippingSASLFinalAndAuthenticationOk() throws {
        var (login, _) = try scramUpToFinal()
        #expect(isViolation(try login.feed(BackendMessage.readyForQuery(.idle))))
    }

    @Test func scramSkippingSASLFinalWithParametersFirst() throws {
        var (login, _) = try scramUpToFinal()
        #expect(isViolation(try login.feed(BackendMessage.parameterStatus(name: "server_version", value: "15"))))
    }

    @Test func authenticationOkBeforeSASLFinalIsRefused() throws {
        var (login, _) = try scramUpToFinal()
        #expect(isRefusal(try login.feed(AuthenticationRequest.ok.encoded), containing: "without proving it knows the password"))
    }

    @Test func authenticationOkInsteadOfServerFirstIsRefused() throws {
        var login = ServerLogin(user: "alice", credential: .password("pencil"), nonce: nonce)
        _ = try login.feed(AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-256"]).encoded)
        #expect(isRefusal(try login.feed(AuthenticationRequest.ok.encoded), containing: "without proving it knows the password"))
    }

    @Test func verifiedSignatureStillNeedsAuthenticationOk() throws {
        var (login, serverFinal) = try scramUpToFinal()
        #expect(try login.feed(AuthenticationRequest.saslFinal(serverFinal).encoded) == [])
        #expect(isViolation(try login.feed(BackendMessage.readyForQuery(.idle))), "ReadyForQuery without AuthenticationOk")
    }

    @Test func secondSASLFinalIsRefused() throws {
        var (login, serverFinal) = try scramUpToFinal()
        #expect(try login.feed(AuthenticationRequest.saslFinal(serverFinal).encoded) == [])
        #expect(isViolation(try login.feed(AuthenticationRequest.saslFinal(serverFinal).encoded)))
    }

    @Test func passwordThenReadyForQueryWithoutAuthenticationOk() throws {
        var login = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce)
        #expect(try login.feed(AuthenticationRequest.cleartextPassword.encoded).count == 1)
        #expect(isViolation(try login.feed(BackendMessage.readyForQuery(.idle))))
    }

    @Test func secondPasswordRequestIsRefused() throws {
        var login = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce)
        _ = try login.feed(AuthenticationRequest.md5Password(salt: [1, 2, 3, 4]).encoded)
        #expect(isViolation(try login.feed(AuthenticationRequest.cleartextPassword.encoded)), "a server fishing for the cleartext password")
    }

    @Test func authenticationAgainAfterOkIsRefused() throws {
        var login = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce)
        _ = try login.feed(AuthenticationRequest.ok.encoded)
        #expect(isViolation(try login.feed(AuthenticationRequest.cleartextPassword.encoded)))
    }

    @Test func negotiateProtocolVersionOnlyBeforeAuthentication() throws {
        let negotiate = BackendMessage.negotiateProtocolVersion(newestMinor: 0, unrecognizedOptions: [])
        var login = ServerLogin(user: "u", credential: .none, nonce: nonce)
        #expect(try login.feed(negotiate) == [])
        _ = try login.feed(AuthenticationRequest.ok.encoded)
        #expect(isViolation(try login.feed(negotiate)))
    }

    @Test func noticesAreAcceptedAnywhere() throws {
        let notice = ErrorFields(severity: "NOTICE", code: "00000", message: "hi").encoded(type: BackendMessageType.noticeResponse)
        var login = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce)
        #expect(try login.feed(notice) == [])
        _ = try login.feed(AuthenticationRequest.cleartextPassword.encoded)
        #expect(try login.feed(notice) == [])
        _ = try login.feed(AuthenticationRequest.ok.encoded)
        #expect(try login.feed(notice) == [])
        _ = try login.feed(BackendMessage.backendKeyData(key))
        #expect(try login.feed(BackendMessage.readyForQuery(.idle)) == [.ready(parameters: [], key: key)])
    }

    // MARK: server_auth_methods

    @Test func scramOnlyRefusesWeakerMethodsBeforeSendingAnything() throws {
        let scramOnly = try #require(ServerAuthMethods(parsing: "scram-sha-256"))
        let weaker: [(AuthenticationRequest, String)] = [
            (.ok, "without authentication"), (.cleartextPassword, "a cleartext password"), (.md5Password(salt: [1, 2, 3, 4]), "an md5 password"),
        ]
        for (request, text) in weaker {
            var login = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce, allowedMethods: scramOnly)
            let actions = try login.feed(request.encoded)
            #expect(isRefusal(actions, containing: text), "\(actions)")
            #expect(isRefusal(actions, containing: "server_auth_methods = scram-sha-256"), "\(actions)")
        }
        var login = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce, allowedMethods: scramOnly)
        let actions = try login.feed(AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-256"]).encoded)
        guard case .send = actions.first else {
            Issue.record("SCRAM is allowed: \(actions)")
            return
        }
    }

    @Test func negatedListAllowsTheRest() throws {
        let noCleartext = try #require(ServerAuthMethods(parsing: "!password, !none"))
        var cleartext = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce, allowedMethods: noCleartext)
        #expect(isRefusal(try cleartext.feed(AuthenticationRequest.cleartextPassword.encoded), containing: "a cleartext password"))
        var trust = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce, allowedMethods: noCleartext)
        #expect(isRefusal(try trust.feed(AuthenticationRequest.ok.encoded), containing: "without authentication"))
        var md5 = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce, allowedMethods: noCleartext)
        #expect(try md5.feed(AuthenticationRequest.md5Password(salt: [1, 2, 3, 4]).encoded).count == 1)
        #expect(try md5.feed(AuthenticationRequest.ok.encoded) == [])
    }

    @Test(arguments: [
        ("any", "any"), ("scram-sha-256", "scram-sha-256"), ("md5, SCRAM-SHA-256", "md5,scram-sha-256"),
        ("!none", "password,md5,scram-sha-256"), ("none,password,md5,scram-sha-256", "any"),
    ])
    func methodListsParse(text: String, description: String) throws {
        #expect(try #require(ServerAuthMethods(parsing: text)).description == description)
    }

    @Test(arguments: ["", "md5,!none", "gss", "!none,!password,!md5,!scram-sha-256", "any,md5"])
    func invalidMethodListsAreRefused(text: String) {
        #expect(ServerAuthMethods(parsing: text) == nil)
    }
}
