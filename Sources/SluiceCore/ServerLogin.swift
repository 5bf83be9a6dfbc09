import PostgresWire
import SluiceAuth

/// How Sluice proves itself to PostgreSQL for one server connection.
public enum ServerCredential: Sendable, Equatable {
    case none
    case password(String)
    /// An md5 hash from the userlist: answers md5 challenges only.
    case md5Hash(String)
    /// SCRAM pass-through: the ClientKey recovered from a client's proof and the verifier's ServerKey.
    case scramKeys(clientKey: [UInt8], serverKey: [UInt8])
}

/// Sluice's login to PostgreSQL, sans I/O: the StartupMessage, then each backend message in,
/// bytes to send or a verdict out.
public struct ServerLogin {
    public enum Action: Equatable {
        case send([UInt8])
        case failed(ErrorFields)
        /// The server is ready: its parameters in the order reported, and its cancel key.
        case ready(parameters: [StartupParameter], key: BackendKey)
    }

    private let user: String
    private let credential: ServerCredential
    private let nonce: [UInt8]
    private var scram: ScramClient?
    /// Once a SCRAM exchange starts, AuthenticationOk counts only after the server proved it
    /// knows the secret with a valid server-final signature.
    private var scramVerified = false
    private var parameters: [StartupParameter] = []
    private var key = BackendKey(processID: 0, secretKey: 0)

    public init(user: String, credential: ServerCredential, nonce: [UInt8]) {
        self.user = user
        self.credential = credential
        self.nonce = nonce
    }

    public static func startupMessage(user: String, database: String, extra: [StartupParameter]) -> [UInt8] {
        StartupPacket.startupMessage([StartupParameter(name: "user", value: user),
                                      StartupParameter(name: "database", value: database)] + extra)
    }

    public mutating func receive(type: UInt8, body: [UInt8]) -> [Action] {
        switch type {
        case BackendMessageType.authentication:
            guard let request = AuthenticationRequest(body: body) else { return [malformed("authentication request")] }
            return authenticate(request)
        case BackendMessageType.parameterStatus:
            if let parameter = BackendMessage.decodeParameterStatus(body) { parameters.record(parameter) }
            return []
        case BackendMessageType.backendKeyData:
            if let key = BackendMessage.decodeBackendKeyData(body) { self.key = key }
            return []
        case BackendMessageType.readyForQuery:
            return [.ready(parameters: parameters, key: key)]
        case BackendMessageType.errorResponse:
            return [.failed(ErrorFields(body: body) ?? ErrorFields(code: SQLState.connectionFailure, message: "server login failed"))]
        case BackendMessageType.noticeResponse, BackendMessageType.negotiateProtocolVersion:
            return []
        default:
            return [malformed("message type \(type) during login")]
        }
    }

    private mutating func authenticate(_ request: AuthenticationRequest) -> [Action] {
        switch (request, credential) {
        case (.ok, _):
            if scram != nil && !scramVerified {
                return [refused("the server ended SCRAM authentication without proving it knows the password")]
            }
            return []
        case (.cleartextPassword, .password(let password)):
            return [.send(FrontendMessage.password(password))]
        case (.md5Password(let salt), .password(let password)):
            let hash = MD5Password.hash(password: password, user: user)
            return [.send(FrontendMessage.password(MD5Password.response(storedHash: hash, salt: salt)))]
        case (.md5Password(let salt), .md5Hash(let hash)):
            return [.send(FrontendMessage.password(MD5Password.response(storedHash: hash, salt: salt)))]
        case (.sasl(let mechanisms), .password), (.sasl(let mechanisms), .scramKeys):
            guard mechanisms.contains("SCRAM-SHA-256") else {
                return [refused("server offers no supported SASL mechanism (\(mechanisms.joined(separator: ", ")))")]
            }
            let client: ScramClient
            if case .password(let password) = credential {
                client = ScramClient(credential: .password(password), clientNonce: nonce)
            } else if case .scramKeys(let clientKey, let serverKey) = credential {
                client = ScramClient(credential: .clientKey(clientKey: clientKey, serverKey: serverKey), clientNonce: nonce)
            } else {
                return []
            }
            scram = client
            return [.send(FrontendMessage.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: client.clientFirstMessage()))]
        case (.saslContinue(let data), _):
            guard var client = scram else { return [malformed("SASL continue")] }
            defer { scram = client }
            switch client.receiveServerFirst(data) {
            case .success(let final): return [.send(FrontendMessage.saslResponse(final))]
            case .failure: return [refused("SCRAM exchange with the server failed")]
            }
        case (.saslFinal(let data), _):
            guard var client = scram else { return [malformed("SASL final")] }
            switch client.receiveServerFinal(data) {
            case .success:
                scramVerified = true
                return []
            case .failure: return [refused("the server's SCRAM signature is invalid")]
            }
        case (.unsupported(let code), _):
            return [refused("the server asks for an authentication method Sluice does not support (code \(code))")]
        default:
            return [refused("the server asks for a password, and none is configured for user \"\(user)\"")]
        }
    }

    private func refused(_ message: String) -> Action {
        .failed(ErrorFields(code: SQLState.invalidAuthorization, message: message))
    }

    private func malformed(_ what: String) -> Action {
        .failed(ErrorFields(code: SQLState.protocolViolation, message: "unexpected \(what) from server"))
    }
}

extension Array where Element == StartupParameter {
    /// Sets a parameter's value, keeping the position of one already present.
    public mutating func record(_ parameter: StartupParameter) {
        if let index = firstIndex(where: { $0.name == parameter.name }) {
            self[index].value = parameter.value
        } else {
            append(parameter)
        }
    }

    public func value(of name: String) -> String? { first { $0.name == name }?.value }
}
