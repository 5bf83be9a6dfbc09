import Testing
import PostgresWire
import SluiceAuth
@testable import SluiceCore

/// ServerLogin against scripted PostgreSQL messages (no SCRAM: see ServerLoginSCRAMTests).
@Suite struct ServerLoginTests {
    private let key = BackendKey(processID: 31337, secretKey: 123_456_789)
    private let nonce = bytes("clientnonce")

    /// ParameterStatus ×3, BackendKeyData and ReadyForQuery, the tail of every successful login.
    private func finishLogin(_ login: inout ServerLogin) throws {
        #expect(try login.feed(BackendMessage.parameterStatus(name: "server_version", value: "17.2")) == [])
        #expect(try login.feed(BackendMessage.parameterStatus(name: "client_encoding", value: "UTF8")) == [])
        #expect(try login.feed(BackendMessage.parameterStatus(name: "DateStyle", value: "ISO, MDY")) == [])
        #expect(try login.feed(BackendMessage.backendKeyData(key)) == [])
        #expect(try login.feed(BackendMessage.readyForQuery(.idle)) == [.ready(parameters: [
            StartupParameter(name: "server_version", value: "17.2"),
            StartupParameter(name: "client_encoding", value: "UTF8"),
            StartupParameter(name: "DateStyle", value: "ISO, MDY"),
        ], key: key)])
    }

    @Test func startupMessageBytes() {
        let message = ServerLogin.startupMessage(user: "u", database: "db", extra: [StartupParameter(name: "TimeZone", value: "UTC")])
        let expected: [UInt8] = [0, 0, 0, 41, 0, 3, 0, 0] + bytes("user\0u\0database\0db\0TimeZone\0UTC\0\0")
        #expect(message == expected)
    }

    @Test(arguments: [ServerCredential.none, .password("pw"), .md5Hash("md5x"), .scramKeys(clientKey: [1], serverKey: [2])])
    func trust(credential: ServerCredential) throws {
        var login = ServerLogin(user: "u", credential: credential, nonce: nonce)
        #expect(try login.feed(AuthenticationRequest.ok.encoded) == [])
        try finishLogin(&login)
    }

    @Test func noticeAndNegotiateAreIgnored() throws {
        var login = ServerLogin(user: "u", credential: .none, nonce: nonce)
        #expect(try login.feed(ErrorFields(severity: "NOTICE", code: "00000", message: "hi").encoded(type: BackendMessageType.noticeResponse)) == [])
        #expect(try login.feed(BackendMessage.negotiateProtocolVersion(newestMinor: 0, unrecognizedOptions: ["_pq_.x"])) == [])
        #expect(try login.feed(AuthenticationRequest.ok.encoded) == [])
        try finishLogin(&login)
    }

    @Test func repeatedParameterKeepsItsPlaceWithTheNewValue() throws {
        var login = ServerLogin(user: "u", credential: .none, nonce: nonce)
        _ = try login.feed(AuthenticationRequest.ok.encoded)
        _ = try login.feed(BackendMessage.parameterStatus(name: "a", value: "1"))
        _ = try login.feed(BackendMessage.parameterStatus(name: "b", value: "2"))
        _ = try login.feed(BackendMessage.parameterStatus(name: "a", value: "3"))
        #expect(try login.feed(BackendMessage.readyForQuery(.idle)) == [.ready(parameters: [
            StartupParameter(name: "a", value: "3"), StartupParameter(name: "b", value: "2"),
        ], key: BackendKey(processID: 0, secretKey: 0))])
    }

    @Test func cleartext() throws {
        var login = ServerLogin(user: "u", credential: .password("pw"), nonce: nonce)
        #expect(try login.feed(AuthenticationRequest.cleartextPassword.encoded) == [.send([112, 0, 0, 0, 7] + bytes("pw\0"))])
        #expect(try login.feed(AuthenticationRequest.ok.encoded) == [])
        try finishLogin(&login)
    }

    @Test func md5WithPassword() throws {
        var login = ServerLogin(user: "alice", credential: .password("pw"), nonce: nonce)
        let salt: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        let response = MD5Password.response(storedHash: MD5Password.hash(password: "pw", user: "alice"), salt: salt)
        #expect(response == "md5" + Crypto.md5Hex(bytes(Crypto.md5Hex(bytes("pwalice"))) + salt))
        #expect(try login.feed(AuthenticationRequest.md5Password(salt: salt).encoded) == [.send(FrontendMessage.password(response))])
        #expect(try login.feed(AuthenticationRequest.ok.encoded) == [])
        try finishLogin(&login)
    }

    @Test func md5WithStoredHash() throws {
        let hash = MD5Password.hash(password: "pw", user: "alice")
        var login = ServerLogin(user: "alice", credential: .md5Hash(hash), nonce: nonce)
        let salt: [UInt8] = [1, 2, 3, 4]
        #expect(try login.feed(AuthenticationRequest.md5Password(salt: salt).encoded)
            == [.send(FrontendMessage.password(MD5Password.response(storedHash: hash, salt: salt)))])
        // The same answer as from the password itself.
        var fromPassword = ServerLogin(user: "alice", credential: .password("pw"), nonce: nonce)
        #expect(try fromPassword.feed(AuthenticationRequest.md5Password(salt: salt).encoded)
            == [.send(FrontendMessage.password("md5" + Crypto.md5Hex(bytes(String(hash.dropFirst(3))) + salt)))])
    }

    @Test func serverErrorFailsWithItsSQLSTATE() throws {
        var login = ServerLogin(user: "alice", credential: .password("wrong"), nonce: nonce)
        _ = try login.feed(AuthenticationRequest.cleartextPassword.encoded)
        let error = ErrorFields(code: "28P01", message: "password authentication failed for user \"alice\"")
        #expect(try login.feed(error.encoded()) == [.failed(error)])
    }

    @Test func serverErrorBeforeAuthentication() throws {
        var login = ServerLogin(user: "alice", credential: .none, nonce: nonce)
        let error = ErrorFields(code: "3D000", message: "database \"nope\" does not exist", hint: "h")
        #expect(try login.feed(error.encoded()) == [.failed(error)])
        let full = ErrorFields(code: "53300", message: "sorry, too many clients already")
        var other = ServerLogin(user: "alice", credential: .none, nonce: nonce)
        #expect(try other.feed(full.encoded()) == [.failed(full)])
    }

    @Test func malformedErrorResponseStillFails() {
        var login = ServerLogin(user: "alice", credential: .none, nonce: nonce)
        #expect(login.receive(type: BackendMessageType.errorResponse, body: [UInt8(ascii: "C")])
            == [.failed(ErrorFields(code: "08006", message: "server login failed"))])
    }

    private func refused(_ message: String) -> ServerLogin.Action {
        .failed(ErrorFields(code: "28000", message: message))
    }

    @Test(arguments: [ServerCredential.none, .md5Hash("md5abc"), .scramKeys(clientKey: [1], serverKey: [2])])
    func cleartextWithoutPassword(credential: ServerCredential) throws {
        var login = ServerLogin(user: "bob", credential: credential, nonce: nonce)
        #expect(try login.feed(AuthenticationRequest.cleartextPassword.encoded)
            == [refused("the server asks for a cleartext password, and no suitable secret is configured for user \"bob\"")])
    }

    @Test func passwordRequestedWithoutCredential() throws {
        let requests = [(AuthenticationRequest.md5Password(salt: [1, 2, 3, 4]), "an md5 password"),
                        (.sasl(mechanisms: ["SCRAM-SHA-256"]), "SCRAM-SHA-256 authentication")]
        for (request, method) in requests {
            var login = ServerLogin(user: "bob", credential: .none, nonce: nonce)
            #expect(try login.feed(request.encoded)
                == [refused("the server asks for \(method), and no suitable secret is configured for user \"bob\"")])
        }
    }

    @Test(arguments: [Int32(2), 7, 8, 9, 99])
    func unsupportedAuthenticationCode(code: Int32) throws {
        var login = ServerLogin(user: "bob", credential: .password("pw"), nonce: nonce)
        #expect(try login.feed(AuthenticationRequest.unsupported(code: code).encoded)
            == [refused("the server asks for an authentication method Sluice does not support (code \(code))")])
    }

    @Test func malformedAuthenticationRequest() {
        var login = ServerLogin(user: "bob", credential: .password("pw"), nonce: nonce)
        #expect(login.receive(type: BackendMessageType.authentication, body: [0, 0, 0, 5, 1])
            == [.failed(ErrorFields(code: "08P01", message: "server sent an invalid authentication request before authentication: login abandoned"))])
    }

    @Test func unexpectedMessageType() {
        var login = ServerLogin(user: "bob", credential: .none, nonce: nonce)
        let actions = login.receive(type: BackendMessageType.dataRow, body: [0, 0])
        guard case .failed(let error) = actions.first, actions.count == 1 else {
            Issue.record("\(actions)")
            return
        }
        #expect(error.code == "08P01")
    }

    @Test func parameterRecordAndValue() {
        var parameters: [StartupParameter] = []
        parameters.record(StartupParameter(name: "x", value: "1"))
        parameters.record(StartupParameter(name: "y", value: "2"))
        parameters.record(StartupParameter(name: "x", value: "3"))
        #expect(parameters == [StartupParameter(name: "x", value: "3"), StartupParameter(name: "y", value: "2")])
        #expect(parameters.value(of: "x") == "3")
        #expect(parameters.value(of: "X") == nil)
    }
}
