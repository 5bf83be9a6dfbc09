/// The client side of SCRAM-SHA-256 / SCRAM-SHA-256-PLUS: Sluice logging in to PostgreSQL.
///
/// A sans-I/O state machine: send `clientFirstMessage()` in `SASLInitialResponse`, answer the
/// `AuthenticationSASLContinue` payload with `receiveServerFirst`, and check the
/// `AuthenticationSASLFinal` payload with `receiveServerFinal`. Any failure ends the exchange;
/// later calls fail with `.outOfSequence`.
public struct ScramClient: Sendable {
    /// What the client proves knowledge of.
    public enum Credential: Sendable {
        /// The password; SaltedPassword is derived with the server's salt and iteration count.
        case password(String)
        /// Pass-through: the ClientKey recovered by `ScramServer` from the connecting client's
        /// proof, and the ServerKey of the same verifier. No salt or iteration count is needed.
        case clientKey(clientKey: [UInt8], serverKey: [UInt8])
    }

    private enum State: Sendable {
        case awaitingServerFirst
        case awaitingServerFinal(serverSignature: [UInt8])
        case succeeded
        case failed
    }

    private let credential: Credential
    private let clientFirst: ClientFirstMessage
    private let channelBindingData: [UInt8]
    private var state = State.awaitingServerFirst

    /// - Parameters:
    ///   - clientNonce: fresh random bytes for this exchange (e.g. 18 from `Crypto.randomBytes`).
    ///     Printable ASCII other than ',' is used as given; anything else is base64-encoded.
    ///   - user: the name sent in `n=`. PostgreSQL ignores it (it takes the startup packet's),
    ///     and libpq sends it empty.
    ///   - channelBinding: the `tls-server-end-point` data of the TLS connection to use
    ///     SCRAM-SHA-256-PLUS (the caller selects that mechanism); nil for SCRAM-SHA-256.
    /// - Precondition: `clientNonce` is not empty.
    public init(credential: Credential, clientNonce: [UInt8], user: String = "", channelBinding: [UInt8]? = nil) {
        precondition(!clientNonce.isEmpty, "SCRAM client nonce must not be empty")
        self.credential = credential
        clientFirst = ClientFirstMessage(
            channelBinding: channelBinding == nil ? .unsupported : .tlsServerEndPoint,
            user: user,
            nonce: ScramNonce.printable(clientNonce)
        )
        channelBindingData = clientFirst.gs2Header + (channelBinding ?? [])
    }

    /// client-first-message, e.g. `n,,n=,r=<nonce>`.
    public func clientFirstMessage() -> [UInt8] {
        clientFirst.bytes
    }

    /// server-first-message → client-final-message.
    public mutating func receiveServerFirst(_ message: [UInt8]) -> Result<[UInt8], ScramError> {
        let result = Result { () throws(ScramError) in try handleServerFirst(message) }
        if case .failure = result { state = .failed }
        return result
    }

    /// Checks server-final-message: succeeds only if `v=` proves the server knows the secret.
    public mutating func receiveServerFinal(_ message: [UInt8]) -> Result<Void, ScramError> {
        let result = Result { () throws(ScramError) in try handleServerFinal(message) }
        state = if case .failure = result { .failed } else { .succeeded }
        return result
    }

    private mutating func handleServerFirst(_ message: [UInt8]) throws(ScramError) -> [UInt8] {
        guard case .awaitingServerFirst = state else { throw .outOfSequence }
        let serverFirst = try ServerFirstMessage(parsing: message)
        guard serverFirst.nonce.count > clientFirst.nonce.count, serverFirst.nonce.starts(with: clientFirst.nonce) else {
            throw .nonceMismatch
        }
        let clientKey: [UInt8]
        let serverKey: [UInt8]
        switch credential {
        case .password(let password):
            let salted = ScramKeys.saltedPassword(password, salt: serverFirst.salt, iterations: serverFirst.iterations)
            clientKey = ScramKeys.clientKey(saltedPassword: salted)
            serverKey = ScramKeys.serverKey(saltedPassword: salted)
        case .clientKey(let key, let server):
            clientKey = key
            serverKey = server
        }
        let withoutProof = ClientFinalMessage.encodeWithoutProof(channelBinding: channelBindingData, nonce: serverFirst.nonce)
        let authMessage = ScramKeys.authMessage(
            clientFirstBare: clientFirst.bare, serverFirst: message, clientFinalWithoutProof: withoutProof
        )
        let clientSignature = Crypto.hmacSHA256(key: Crypto.sha256(clientKey), data: authMessage)
        state = .awaitingServerFinal(serverSignature: Crypto.hmacSHA256(key: serverKey, data: authMessage))
        return ClientFinalMessage.encode(withoutProof: withoutProof, proof: ScramKeys.xor(clientKey, clientSignature))
    }

    private func handleServerFinal(_ message: [UInt8]) throws(ScramError) {
        guard case .awaitingServerFinal(let expected) = state else { throw .outOfSequence }
        switch try ServerFinalMessage(parsing: message) {
        case .error(let value):
            throw .serverError(value)
        case .verifier(let signature):
            guard Crypto.constantTimeEqual(signature, expected) else { throw .invalidServerSignature }
        }
    }
}
