/// The secret a `ScramServer` checks a client's proof against.
public enum ScramServerSecret: Sendable {
    /// A stored SCRAM-SHA-256 verifier.
    case verifier(ScramVerifier)
    /// A plaintext password: the server builds a verifier from it with a random 16-byte salt
    /// and 4096 iterations, PostgreSQL's defaults.
    case password(String)

    /// A fake verifier for a user with no stored secret, so that an unknown user goes through
    /// the same steps, and takes the same time, as a wrong password, and gets the same salt on
    /// every attempt. Salt and keys are HMACs of the user name under `key`, a random value kept
    /// for the life of the process; no password matches the keys, so the proof always fails
    /// with `.invalidProof`.
    public static func mock(user: String, key: [UInt8]) -> ScramServerSecret {
        func derive(_ label: String) -> [UInt8] {
            Crypto.hmacSHA256(key: key, data: Array(label.utf8) + [0] + Array(user.utf8))
        }
        return .verifier(ScramVerifier(
            iterations: 4096,
            salt: Array(derive("salt").prefix(16)),
            storedKey: derive("stored-key"),
            serverKey: derive("server-key")
        ))
    }
}

/// The server side of SCRAM-SHA-256 / SCRAM-SHA-256-PLUS: Sluice verifying a client.
///
/// A sans-I/O state machine: feed it the SASL payloads of the client's `SASLInitialResponse`
/// and `SASLResponse` messages and send back what it returns in `AuthenticationSASLContinue`
/// and `AuthenticationSASLFinal`. Any failure ends the exchange; later calls fail with
/// `.outOfSequence`.
///
/// As in PostgreSQL, the user name in client-first-message is ignored, authorization
/// identities and mandatory extensions are refused, and the only channel binding type is
/// `tls-server-end-point`. The caller checks that the flag fits the mechanism the client chose:
/// the flag is covered by the proof, so it cannot be altered in transit.
public struct ScramServer: Sendable {
    private enum State: Sendable {
        case awaitingClientFirst
        case awaitingClientFinal(clientFirstBare: [UInt8], serverFirst: [UInt8], nonce: [UInt8], channelBinding: [UInt8])
        case succeeded(clientKey: [UInt8])
        case failed
    }

    private let verifier: ScramVerifier
    private let serverNonce: [UInt8]
    private let channelBinding: [UInt8]?
    private var state = State.awaitingClientFirst

    /// - Parameters:
    ///   - serverNonce: fresh random bytes for this exchange (e.g. 18 from `Crypto.randomBytes`).
    ///     Printable ASCII other than ',' is used as given; anything else is base64-encoded.
    ///   - channelBinding: the `tls-server-end-point` data (hash of the server certificate) when
    ///     the connection is TLS and SCRAM-SHA-256-PLUS is offered; nil otherwise.
    /// - Precondition: `serverNonce` is not empty.
    public init(secret: ScramServerSecret, serverNonce: [UInt8], channelBinding: [UInt8]? = nil) {
        precondition(!serverNonce.isEmpty, "SCRAM server nonce must not be empty")
        switch secret {
        case .verifier(let verifier):
            self.verifier = verifier
        case .password(let password):
            verifier = Self.makeVerifier(password: password, salt: Crypto.randomBytes(16), iterations: 4096)
        }
        self.serverNonce = ScramNonce.printable(serverNonce)
        self.channelBinding = channelBinding
    }

    /// client-first-message → server-first-message.
    public mutating func receiveClientFirst(_ message: [UInt8]) -> Result<[UInt8], ScramError> {
        let result = Result { () throws(ScramError) in try handleClientFirst(message) }
        if case .failure = result { state = .failed }
        return result
    }

    /// client-final-message → server-final-message (`v=…`) when the proof is right;
    /// `.failure(.invalidProof)` for a wrong password or a mock secret.
    public mutating func receiveClientFinal(_ message: [UInt8]) -> Result<[UInt8], ScramError> {
        let result = Result { () throws(ScramError) in try handleClientFinal(message) }
        if case .failure = result { state = .failed }
        return result
    }

    /// After a successful exchange, the client's ClientKey (ClientProof XOR ClientSignature):
    /// with the verifier's ServerKey it lets `ScramClient` log in to PostgreSQL as this client.
    public var recoveredClientKey: [UInt8]? {
        if case .succeeded(let clientKey) = state { clientKey } else { nil }
    }

    private mutating func handleClientFirst(_ message: [UInt8]) throws(ScramError) -> [UInt8] {
        guard case .awaitingClientFirst = state else { throw .outOfSequence }
        let clientFirst = try ClientFirstMessage(parsing: message)
        var expectedBinding = clientFirst.gs2Header
        switch clientFirst.channelBinding {
        case .unsupported:
            break
        case .notOffered:
            guard channelBinding == nil else { throw .channelBindingNegotiation }
        case .tlsServerEndPoint:
            guard let channelBinding else { throw .unsupportedChannelBinding }
            expectedBinding += channelBinding
        }
        let nonce = clientFirst.nonce + serverNonce
        let serverFirst = ServerFirstMessage(nonce: nonce, salt: verifier.salt, iterations: verifier.iterations).bytes
        state = .awaitingClientFinal(
            clientFirstBare: clientFirst.bare, serverFirst: serverFirst, nonce: nonce, channelBinding: expectedBinding
        )
        return serverFirst
    }

    private mutating func handleClientFinal(_ message: [UInt8]) throws(ScramError) -> [UInt8] {
        guard case .awaitingClientFinal(let clientFirstBare, let serverFirst, let nonce, let binding) = state else {
            throw .outOfSequence
        }
        let clientFinal = try ClientFinalMessage(parsing: message)
        guard Crypto.constantTimeEqual(clientFinal.channelBinding, binding) else { throw .channelBindingMismatch }
        guard clientFinal.nonce == nonce else { throw .nonceMismatch }
        let authMessage = ScramKeys.authMessage(
            clientFirstBare: clientFirstBare, serverFirst: serverFirst, clientFinalWithoutProof: clientFinal.withoutProof
        )
        let clientSignature = Crypto.hmacSHA256(key: verifier.storedKey, data: authMessage)
        let clientKey = ScramKeys.xor(clientFinal.proof, clientSignature)
        guard Crypto.constantTimeEqual(Crypto.sha256(clientKey), verifier.storedKey) else { throw .invalidProof }
        state = .succeeded(clientKey: clientKey)
        return ServerFinalMessage.verifier(Crypto.hmacSHA256(key: verifier.serverKey, data: authMessage)).bytes
    }
}
