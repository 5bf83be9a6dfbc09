import Testing
import PostgresWire
import SluiceAuth
@testable import SluiceCore

/// SCRAM-SHA-256 logins driven by a real `ScramClient`.
@Suite struct ClientLoginSCRAMTests {
    static let verifierSalt = bytes("0123456789abcdef")
    private let users: [String: StoredSecret] = [
        "verifieruser": .scramSHA256(ScramServer.makeVerifier(password: "pencil", salt: verifierSalt, iterations: 4096)),
        "plainuser": .plaintext("s3cret"),
        "md5user": .md5(MD5Password.hash(password: "hunter2", user: "md5user")),
    ]
    private let clientNonce = "fyko+d2lbbFgONRv9qkxdawL"
    private let saslOffer = ClientLogin.Action.send(AuthenticationRequest.sasl(mechanisms: ["SCRAM-SHA-256"]).encoded)

    private struct Exchange {
        var firstActions: [ClientLogin.Action] = []
        var serverFirst: [UInt8] = []
        var finalActions: [ClientLogin.Action] = []
        var client: ScramClient
    }

    /// Runs the exchange after the SASL offer: client-first, then client-final.
    private func exchange(_ login: inout ClientLogin, password: String) throws -> Exchange {
        var result = Exchange(client: ScramClient(credential: .password(password), clientNonce: bytes(clientNonce)))
        result.firstActions = try login.feed(FrontendMessage.saslInitialResponse(
            mechanism: "SCRAM-SHA-256", data: result.client.clientFirstMessage()))
        guard case .send(let message) = try #require(result.firstActions.first) else { return result }
        let (type, body) = try split(message)
        #expect(type == BackendMessageType.authentication)
        guard case .saslContinue(let serverFirst) = AuthenticationRequest(body: body) else {
            Issue.record("expected SASLContinue, got \(result.firstActions)")
            return result
        }
        result.serverFirst = serverFirst
        let clientFinal = try result.client.receiveServerFirst(serverFirst).get()
        result.finalActions = try login.feed(FrontendMessage.saslResponse(clientFinal))
        return result
    }

    private func expectedServerFirst(salt: [UInt8]) -> [UInt8] {
        bytes("r=\(clientNonce)\(fixedServerNonce),s=\(Base64.encode(salt)),i=4096")
    }

    /// The SASLFinal message the client accepts as proof that the server knows the secret.
    private func serverFinal(_ actions: [ClientLogin.Action], client: inout ScramClient) throws -> Bool {
        guard case .send(let message) = try #require(actions.first) else { return false }
        guard case .saslFinal(let data) = AuthenticationRequest(body: try split(message).body) else { return false }
        return (try? client.receiveServerFinal(data).get()) != nil
    }

    @Test func verifierSucceedsAndRecoversClientKey() throws {
        var login = ClientLogin(policy(.scramSHA256, users: users))
        #expect(login.receive(startup(["user": "verifieruser", "database": "db"])) == [saslOffer])
        var run = try exchange(&login, password: "pencil")
        #expect(run.firstActions == [.send(AuthenticationRequest.saslContinue(expectedServerFirst(salt: Self.verifierSalt)).encoded)])
        let key = expectedClientKey(password: "pencil", salt: Self.verifierSalt)
        try #require(run.finalActions.count == 3)
        #expect(Array(run.finalActions.dropFirst()) == succeeded(identity("verifieruser", "db", key: key)))
        #expect(try serverFinal(run.finalActions, client: &run.client))
        #expect(Crypto.sha256(key) == ScramServer.makeVerifier(password: "pencil", salt: Self.verifierSalt, iterations: 4096).storedKey)
    }

    @Test func plaintextSecretSucceedsAndRecoversClientKey() throws {
        var login = ClientLogin(policy(.scramSHA256, users: users))
        #expect(login.receive(startup(["user": "plainuser"])) == [saslOffer])
        var run = try exchange(&login, password: "s3cret")
        let salt = try #require(scramSalt(ofServerFirst: run.serverFirst))
        #expect(salt.count == 16)
        #expect(run.serverFirst == expectedServerFirst(salt: salt))
        try #require(run.finalActions.count == 3)
        #expect(Array(run.finalActions.dropFirst())
            == succeeded(identity("plainuser", key: expectedClientKey(password: "s3cret", salt: salt))))
        #expect(try serverFinal(run.finalActions, client: &run.client))
    }

    @Test(arguments: ["verifieruser", "plainuser"])
    func wrongPasswordFails(user: String) throws {
        var login = ClientLogin(policy(.scramSHA256, users: users))
        _ = login.receive(startup(["user": user]))
        let run = try exchange(&login, password: "wrong")
        #expect(run.finalActions == [passwordFailed(user)])
    }

    @Test(arguments: ["nobody", "md5user"])
    func userWithoutUsableSecretFailsLikeWrongPassword(user: String) throws {
        var login = ClientLogin(policy(.scramSHA256, users: users))
        #expect(login.receive(startup(["user": user])) == [saslOffer])
        let run = try exchange(&login, password: "hunter2")
        #expect(run.serverFirst.starts(with: bytes("r=\(clientNonce)\(fixedServerNonce),s=")))
        #expect(run.finalActions == [passwordFailed(user)])
    }

    @Test func unknownUserGetsTheSameSaltEveryTime() throws {
        var first = ClientLogin(policy(.scramSHA256, users: users))
        var second = ClientLogin(policy(.scramSHA256, users: users))
        var other = ClientLogin(policy(.scramSHA256, users: users))
        _ = first.receive(startup(["user": "nobody"]))
        _ = second.receive(startup(["user": "nobody"]))
        _ = other.receive(startup(["user": "someone"]))
        let a = try exchange(&first, password: "x").serverFirst
        let b = try exchange(&second, password: "y").serverFirst
        let c = try exchange(&other, password: "x").serverFirst
        #expect(a == b)
        #expect(scramSalt(ofServerFirst: a) != scramSalt(ofServerFirst: c))
        #expect(scramSalt(ofServerFirst: a)?.count == 16)
    }

    @Test func md5WithSCRAMSecretSwitchesToSCRAM() throws {
        var login = ClientLogin(policy(.md5, users: users))
        #expect(login.receive(startup(["user": "verifieruser"])) == [saslOffer])
        var run = try exchange(&login, password: "pencil")
        try #require(run.finalActions.count == 3)
        #expect(Array(run.finalActions.dropFirst())
            == succeeded(identity("verifieruser", key: expectedClientKey(password: "pencil", salt: Self.verifierSalt))))
        #expect(try serverFinal(run.finalActions, client: &run.client))
    }

    @Test func md5WithSCRAMSecretWrongPassword() throws {
        var login = ClientLogin(policy(.md5, users: users))
        _ = login.receive(startup(["user": "verifieruser"]))
        #expect(try exchange(&login, password: "Pencil").finalActions == [passwordFailed("verifieruser")])
    }

    @Test func otherMechanismIsRefused() throws {
        var login = ClientLogin(policy(.scramSHA256, users: users))
        _ = login.receive(startup(["user": "verifieruser"]))
        #expect(try login.feed(FrontendMessage.saslInitialResponse(mechanism: "SCRAM-SHA-256-PLUS", data: bytes("p=tls-server-end-point,,n=,r=abc")))
            == [.reject(ErrorFields(code: "08P01", message: "client selected an invalid SASL authentication mechanism"))])
    }

    @Test func malformedSCRAMMessages() throws {
        var login = ClientLogin(policy(.scramSHA256, users: users))
        _ = login.receive(startup(["user": "verifieruser"]))
        #expect(try login.feed(FrontendMessage.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: bytes("garbage")))
            == [.reject(ErrorFields(code: "08P01", message: "malformed SCRAM message"))])

        var notSASL = ClientLogin(policy(.scramSHA256, users: users))
        _ = notSASL.receive(startup(["user": "verifieruser"]))
        #expect(notSASL.receive(type: FrontendMessageType.password, body: bytes("SCRAM-SHA-256"))
            == [.reject(ErrorFields(code: "08P01", message: "malformed SASLInitialResponse"))])

        var badFinal = ClientLogin(policy(.scramSHA256, users: users))
        _ = badFinal.receive(startup(["user": "verifieruser"]))
        let client = ScramClient(credential: .password("pencil"), clientNonce: bytes(clientNonce))
        _ = try badFinal.feed(FrontendMessage.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: client.clientFirstMessage()))
        #expect(try badFinal.feed(FrontendMessage.saslResponse(bytes("c=biws,r=wrongnonce,p=AAAA")))
            == [.reject(ErrorFields(code: "08P01", message: "malformed SCRAM message"))])
    }

    @Test func nonPasswordMessageDuringSCRAM() throws {
        var login = ClientLogin(policy(.scramSHA256, users: users))
        _ = login.receive(startup(["user": "verifieruser"]))
        #expect(try login.feed(FrontendMessage.sync)
            == [.reject(ErrorFields(code: "08P01", message: "expected password response, got message type S"))])
    }
}
