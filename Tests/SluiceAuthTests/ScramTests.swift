import Testing
import SluiceAuth

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func text(_ result: Result<[UInt8], ScramError>) -> String? {
    (try? result.get()).map { String(decoding: $0, as: UTF8.self) }
}

private func failure<T>(_ result: Result<T, ScramError>) -> ScramError? {
    if case .failure(let error) = result { error } else { nil }
}

private func isMalformed(_ error: ScramError?) -> Bool {
    if case .malformedMessage = error { true } else { false }
}

/// RFC 7677 §3.
private enum RFC7677 {
    static let clientNonce = "rOprNGfwEbeRWgbNEkqO"
    static let serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    static let salt = Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ==")!
    static let clientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    static let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    static let clientFinal =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    static let serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    static let verifier = ScramServer.makeVerifier(password: "pencil", salt: salt, iterations: 4096)
}

@Suite struct ScramRFCVectorTests {
    @Test func clientProducesRFCMessages() {
        var client = ScramClient(credential: .password("pencil"), clientNonce: bytes(RFC7677.clientNonce), user: "user")
        #expect(String(decoding: client.clientFirstMessage(), as: UTF8.self) == RFC7677.clientFirst)
        #expect(text(client.receiveServerFirst(bytes(RFC7677.serverFirst))) == RFC7677.clientFinal)
        #expect(failure(client.receiveServerFinal(bytes(RFC7677.serverFinal))) == nil)
    }

    @Test func serverProducesRFCMessages() {
        var server = ScramServer(secret: .verifier(RFC7677.verifier), serverNonce: bytes(RFC7677.serverNonce))
        #expect(text(server.receiveClientFirst(bytes(RFC7677.clientFirst))) == RFC7677.serverFirst)
        #expect(server.recoveredClientKey == nil)
        #expect(text(server.receiveClientFinal(bytes(RFC7677.clientFinal))) == RFC7677.serverFinal)
        #expect(server.recoveredClientKey.map(Crypto.sha256) == RFC7677.verifier.storedKey)
    }

    @Test func libpqStyleFirstMessageHasEmptyUser() {
        let client = ScramClient(credential: .password("pencil"), clientNonce: bytes("abc"))
        #expect(client.clientFirstMessage() == bytes("n,,n=,r=abc"))
        let escaped = ScramClient(credential: .password("pencil"), clientNonce: bytes("abc"), user: "a,b=c")
        #expect(escaped.clientFirstMessage() == bytes("n,,n=a=2Cb=3Dc,r=abc"))
    }

    @Test func rawNoncesAreBase64Encoded() {
        let client = ScramClient(credential: .password("x"), clientNonce: [0, 1, 2])
        #expect(client.clientFirstMessage() == bytes("n,,n=,r=AAEC"))
        var server = ScramServer(secret: .verifier(RFC7677.verifier), serverNonce: [0xFF, 0xFE, 0xFD])
        #expect(text(server.receiveClientFirst(bytes("n,,n=,r=abc")))
            == "r=abc//79,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    }
}

/// Runs a whole exchange; returns the server's error, or nil and the recovered ClientKey.
private func exchange(
    _ client: inout ScramClient, _ server: inout ScramServer
) -> (serverError: ScramError?, clientError: ScramError?) {
    let serverFirst: [UInt8]
    switch server.receiveClientFirst(client.clientFirstMessage()) {
    case .success(let message): serverFirst = message
    case .failure(let error): return (error, nil)
    }
    let clientFinal: [UInt8]
    switch client.receiveServerFirst(serverFirst) {
    case .success(let message): clientFinal = message
    case .failure(let error): return (nil, error)
    }
    switch server.receiveClientFinal(clientFinal) {
    case .success(let serverFinal): return (nil, failure(client.receiveServerFinal(serverFinal)))
    case .failure(let error): return (error, nil)
    }
}

@Suite struct ScramExchangeTests {
    static let verifier = ScramServer.makeVerifier(password: "hunter2", salt: Crypto.randomBytes(16), iterations: 4096)

    @Test func passThroughLogin() throws {
        var client = ScramClient(credential: .password("hunter2"), clientNonce: Crypto.randomBytes(18))
        var front = ScramServer(secret: .verifier(Self.verifier), serverNonce: Crypto.randomBytes(18))
        let result = exchange(&client, &front)
        #expect(result.serverError == nil && result.clientError == nil)
        let clientKey = try #require(front.recoveredClientKey)

        var passThrough = ScramClient(
            credential: .clientKey(clientKey: clientKey, serverKey: Self.verifier.serverKey),
            clientNonce: Crypto.randomBytes(18)
        )
        var backend = ScramServer(secret: .verifier(Self.verifier), serverNonce: bytes("a-different-server-nonce"))
        let second = exchange(&passThrough, &backend)
        #expect(second.serverError == nil && second.clientError == nil)
        #expect(backend.recoveredClientKey == clientKey)
    }

    @Test func passwordSecretBuildsItsOwnVerifier() {
        var client = ScramClient(credential: .password("hunter2"), clientNonce: Crypto.randomBytes(18))
        var server = ScramServer(secret: .password("hunter2"), serverNonce: Crypto.randomBytes(18))
        let result = exchange(&client, &server)
        #expect(result.serverError == nil && result.clientError == nil)
    }

    @Test func nonASCIIPasswordUsesRawBytes() {
        let verifier = ScramServer.makeVerifier(password: "pässwörd", salt: [9, 9, 9], iterations: 16)
        let reference = ScramServer.makeVerifier(password: String(decoding: bytes("pässwörd"), as: UTF8.self),
                                                   salt: [9, 9, 9], iterations: 16)
        #expect(verifier == reference)
        var client = ScramClient(credential: .password("pässwörd"), clientNonce: Crypto.randomBytes(18))
        var server = ScramServer(secret: .verifier(verifier), serverNonce: Crypto.randomBytes(18))
        #expect(exchange(&client, &server).serverError == nil)
    }

    @Test func wrongPasswordIsInvalidProof() {
        var client = ScramClient(credential: .password("hunter3"), clientNonce: Crypto.randomBytes(18))
        var server = ScramServer(secret: .verifier(Self.verifier), serverNonce: Crypto.randomBytes(18))
        #expect(exchange(&client, &server).serverError == .invalidProof)
        #expect(server.recoveredClientKey == nil)
        #expect(failure(server.receiveClientFinal(bytes("c=biws"))) == .outOfSequence)
    }

    @Test func wrongClientKeyIsInvalidProof() {
        var client = ScramClient(
            credential: .clientKey(clientKey: Crypto.randomBytes(32), serverKey: Self.verifier.serverKey),
            clientNonce: Crypto.randomBytes(18)
        )
        var server = ScramServer(secret: .verifier(Self.verifier), serverNonce: Crypto.randomBytes(18))
        #expect(exchange(&client, &server).serverError == .invalidProof)
    }

    @Test func mockSecretFailsLikeAWrongPassword() {
        let key = Crypto.randomBytes(32)
        for password in ["", "hunter2", "anything"] {
            var client = ScramClient(credential: .password(password), clientNonce: Crypto.randomBytes(18))
            var server = ScramServer(secret: .mock(user: "ghost", key: key), serverNonce: Crypto.randomBytes(18))
            #expect(exchange(&client, &server).serverError == .invalidProof)
        }
    }

    @Test func mockSecretIsStablePerUserAndKey() {
        func salt(_ secret: ScramServerSecret) -> [UInt8]? {
            if case .verifier(let verifier) = secret { verifier.salt } else { nil }
        }
        let key = Crypto.randomBytes(32)
        let ghost = salt(.mock(user: "ghost", key: key))
        #expect(ghost?.count == 16)
        #expect(ghost == salt(.mock(user: "ghost", key: key)))
        #expect(ghost != salt(.mock(user: "phantom", key: key)))
        #expect(ghost != salt(.mock(user: "ghost", key: Crypto.randomBytes(32))))
    }

    @Test func channelBindingRoundTrip() {
        let endPoint = Crypto.sha256(bytes("certificate"))
        var client = ScramClient(credential: .password("hunter2"), clientNonce: Crypto.randomBytes(18), channelBinding: endPoint)
        #expect(client.clientFirstMessage().starts(with: bytes("p=tls-server-end-point,,n=,r=")))
        var server = ScramServer(secret: .verifier(Self.verifier), serverNonce: Crypto.randomBytes(18), channelBinding: endPoint)
        let result = exchange(&client, &server)
        #expect(result.serverError == nil && result.clientError == nil)
    }

    @Test func channelBindingDataMismatch() {
        var client = ScramClient(credential: .password("hunter2"), clientNonce: Crypto.randomBytes(18),
                                 channelBinding: Crypto.sha256(bytes("attacker certificate")))
        var server = ScramServer(secret: .verifier(Self.verifier), serverNonce: Crypto.randomBytes(18),
                                 channelBinding: Crypto.sha256(bytes("certificate")))
        #expect(exchange(&client, &server).serverError == .channelBindingMismatch)
    }

    @Test func unboundClientOverTLSIsAccepted() {
        var client = ScramClient(credential: .password("hunter2"), clientNonce: Crypto.randomBytes(18))
        var server = ScramServer(secret: .verifier(Self.verifier), serverNonce: Crypto.randomBytes(18),
                                 channelBinding: Crypto.sha256(bytes("certificate")))
        #expect(exchange(&client, &server).serverError == nil)
    }

    @Test func flagYIsAcceptedOnlyWithoutOfferedBinding() {
        var plain = ScramServer(secret: .verifier(Self.verifier), serverNonce: bytes("XYZ"))
        #expect(text(plain.receiveClientFirst(bytes("y,,n=,r=abc"))) != nil)
        #expect(failure(plain.receiveClientFinal(bytes("c=biws,r=abcXYZ,p=\(Base64.encode([UInt8](repeating: 0, count: 32)))")))
            == .channelBindingMismatch)
        var tls = ScramServer(secret: .verifier(Self.verifier), serverNonce: bytes("XYZ"), channelBinding: [1, 2, 3])
        #expect(failure(tls.receiveClientFirst(bytes("y,,n=,r=abc"))) == .channelBindingNegotiation)
    }
}

@Suite struct ScramMalformedMessageTests {
    static let verifier = RFC7677.verifier
    static let zeroProof = Base64.encode([UInt8](repeating: 0, count: 32))

    @Test(arguments: [
        "", "n", "n,", "x,,n=,r=abc", "n,,n=,s=abc", "n,,r=abc", "n,,n=,r=", "n,,n=,r=abc,", "n,,n=,r=a\u{01}c",
        "n,a=admin,n=,r=abc", "n;,n=,r=abc", "n,,n=", ",,n=,r=abc", "n,,=,r=abc",
    ])
    func malformedClientFirst(_ message: String) {
        var server = ScramServer(secret: .verifier(Self.verifier), serverNonce: bytes("XYZ"))
        #expect(isMalformed(failure(server.receiveClientFirst(bytes(message)))))
        #expect(failure(server.receiveClientFirst(bytes("n,,n=,r=abc"))) == .outOfSequence)
    }

    @Test func channelBindingFlagsWithoutOfferedBinding() {
        var server = ScramServer(secret: .verifier(Self.verifier), serverNonce: bytes("XYZ"))
        #expect(failure(server.receiveClientFirst(bytes("p=tls-server-end-point,,n=,r=abc"))) == .unsupportedChannelBinding)
        var tls = ScramServer(secret: .verifier(Self.verifier), serverNonce: bytes("XYZ"), channelBinding: [1])
        #expect(failure(tls.receiveClientFirst(bytes("p=tls-unique,,n=,r=abc"))) == .unsupportedChannelBinding)
        var extended = ScramServer(secret: .verifier(Self.verifier), serverNonce: bytes("XYZ"))
        #expect(failure(extended.receiveClientFirst(bytes("n,,m=ext,n=,r=abc"))) == .unsupportedExtension)
    }

    @Test(arguments: [
        ("c=biws,r=abcXYZ", nil),
        ("c=biws,r=abcXYZ,p=!!!!", nil),
        ("c=biws,r=abcXYZ,p=AAAA", nil),
        ("c=b!ws,r=abcXYZ,p=\(zeroProof)", nil),
        ("r=abcXYZ,c=biws,p=\(zeroProof)", nil),
        ("c=biws,r=abcXYZ,p=\(zeroProof),x=1", nil),
        ("c=biws,r=abcXYZ,p=\(zeroProof),", nil),
        ("c=biws,r=abcXXX,p=\(zeroProof)", ScramError.nonceMismatch),
        ("c=biws,r=abc,p=\(zeroProof)", ScramError.nonceMismatch),
        ("c=eSws,r=abcXYZ,p=\(zeroProof)", ScramError.channelBindingMismatch),
        ("c=biws,r=abcXYZ,p=\(zeroProof)", ScramError.invalidProof),
        ("c=biws,r=abcXYZ,x=ext,p=\(zeroProof)", ScramError.invalidProof),
    ] as [(String, ScramError?)])
    func badClientFinal(_ message: String, expected: ScramError?) {
        var server = ScramServer(secret: .verifier(Self.verifier), serverNonce: bytes("XYZ"))
        #expect(text(server.receiveClientFirst(bytes("n,,n=,r=abc"))) != nil)
        let error = failure(server.receiveClientFinal(bytes(message)))
        if let expected {
            #expect(error == expected)
        } else {
            #expect(isMalformed(error))
        }
        #expect(server.recoveredClientKey == nil)
    }

    @Test(arguments: [
        ("r=someoneElse,s=QUJD,i=4096", ScramError.nonceMismatch),
        ("r=abc,s=QUJD,i=4096", ScramError.nonceMismatch),
        ("m=ext,r=abcXYZ,s=QUJD,i=4096", ScramError.unsupportedExtension),
        ("s=QUJD,i=4096", nil),
        ("r=abcXYZ,s=!!!!,i=4096", nil),
        ("r=abcXYZ,s=,i=4096", nil),
        ("r=abcXYZ,s=QUJD,i=0", nil),
        ("r=abcXYZ,s=QUJD,i=-1", nil),
        ("r=abcXYZ,s=QUJD,i=4096x", nil),
        ("r=abcXYZ,s=QUJD,i=99999999999", nil),
        ("r=abcXYZ,s=QUJD", nil),
        ("e=other-error", nil),
    ] as [(String, ScramError?)])
    func badServerFirst(_ message: String, expected: ScramError?) {
        var client = ScramClient(credential: .password("pencil"), clientNonce: bytes("abc"))
        let error = failure(client.receiveServerFirst(bytes(message)))
        if let expected {
            #expect(error == expected)
        } else {
            #expect(isMalformed(error))
        }
        #expect(failure(client.receiveServerFinal(bytes(RFC7677.serverFinal))) == .outOfSequence)
    }

    @Test func badServerFinal() {
        func clientAwaitingFinal() -> ScramClient {
            var client = ScramClient(credential: .password("pencil"), clientNonce: bytes(RFC7677.clientNonce), user: "user")
            _ = client.receiveServerFirst(bytes(RFC7677.serverFirst))
            return client
        }
        var forged = clientAwaitingFinal()
        #expect(failure(forged.receiveServerFinal(bytes("v=\(Self.zeroProof)"))) == .invalidServerSignature)
        var rejected = clientAwaitingFinal()
        #expect(failure(rejected.receiveServerFinal(bytes("e=invalid-proof"))) == .serverError("invalid-proof"))
        var garbled = clientAwaitingFinal()
        #expect(isMalformed(failure(garbled.receiveServerFinal(bytes("v=@@@@")))))
        var empty = clientAwaitingFinal()
        #expect(isMalformed(failure(empty.receiveServerFinal([]))))
        var done = clientAwaitingFinal()
        #expect(failure(done.receiveServerFinal(bytes(RFC7677.serverFinal))) == nil)
        #expect(failure(done.receiveServerFinal(bytes(RFC7677.serverFinal))) == .outOfSequence)
    }

    @Test func outOfSequence() {
        var server = ScramServer(secret: .verifier(Self.verifier), serverNonce: bytes("XYZ"))
        #expect(failure(server.receiveClientFinal(bytes("c=biws,r=abcXYZ,p=\(Self.zeroProof)"))) == .outOfSequence)
        var client = ScramClient(credential: .password("pencil"), clientNonce: bytes("abc"))
        #expect(failure(client.receiveServerFinal(bytes(RFC7677.serverFinal))) == .outOfSequence)
    }
}
