import PostgresWire
import SluiceAuth
import SluiceConfig

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
///
/// Each state accepts only what PostgreSQL sends there; anything else ends the login with
/// 08P01 before the server has a client's query. In particular a server that has not proved
/// it knows the password (a SCRAM exchange whose server signature was not verified) never
/// gets past `authenticating`: whoever answers on the server's address gets nothing without
/// the secret.
public struct ServerLogin {
    public enum Action: Equatable {
        case send([UInt8])
        case failed(ErrorFields)
        /// The server is ready: its parameters in the order reported, and its cancel key.
        case ready(parameters: [StartupParameter], key: BackendKey)
    }

    /// Where the login is. Only `authenticated` accepts ParameterStatus, BackendKeyData and
    /// ReadyForQuery.
    enum State {
        /// The startup packet went; PostgreSQL answers with an authentication request
        /// (AuthenticationOk at once for trust).
        case awaitingRequest
        /// A cleartext or md5 password went; only AuthenticationOk may follow.
        case sentPassword
        /// SASLInitialResponse went; PostgreSQL answers with SASLContinue (server-first).
        case awaitingServerFirst(ScramClient)
        /// SASLResponse (client-final) went; PostgreSQL answers with SASLFinal, whose
        /// signature must verify.
        case awaitingServerFinal(ScramClient)
        /// The server proved it knows the secret; AuthenticationOk follows.
        case scramVerified
        /// AuthenticationOk came: parameters and the cancel key, up to ReadyForQuery.
        case authenticated
        /// Ready or failed: nothing more is read.
        case finished
    }

    private let user: String
    private let credential: ServerCredential
    private let nonce: [UInt8]
    private let allowedMethods: ServerAuthMethods
    private(set) var state = State.awaitingRequest
    private var parameters: [StartupParameter] = []
    private var key = BackendKey(processID: 0, secretKey: 0)

    /// - Parameter allowedMethods: the authentication the server may ask for
    ///   (`server_auth_methods`); `.none` among them lets in a server that asks for nothing.
    public init(user: String, credential: ServerCredential, nonce: [UInt8], allowedMethods: ServerAuthMethods = .any) {
        self.user = user
        self.credential = credential
        self.nonce = nonce
        self.allowedMethods = allowedMethods
    }

    public static func startupMessage(user: String, database: String, extra: [StartupParameter]) -> [UInt8] {
        StartupPacket.startupMessage([StartupParameter(name: "user", value: user),
                                      StartupParameter(name: "database", value: database)] + extra)
    }

    /// True once the login is over, ready or failed.
    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    public mutating func receive(type: UInt8, body: [UInt8]) -> [Action] {
        guard !isFinished else { return [] }
        let actions = step(type: type, body: body)
        if actions.contains(where: { if case .send = $0 { false } else { true } }) { state = .finished }
        return actions
    }

    private mutating func step(type: UInt8, body: [UInt8]) -> [Action] {
        switch type {
        case BackendMessageType.errorResponse:
            return [.failed(ErrorFields(body: body) ?? ErrorFields(code: SQLState.connectionFailure, message: "server login failed"))]
        case BackendMessageType.noticeResponse:
            return []
        case BackendMessageType.negotiateProtocolVersion:
            // Sent before the authentication request, when the server lacks a protocol option.
            guard case .awaitingRequest = state else { return [violation("NegotiateProtocolVersion")] }
            return []
        case BackendMessageType.authentication:
            guard let request = AuthenticationRequest(body: body) else { return [violation("an invalid authentication request")] }
            return authenticate(request)
        case BackendMessageType.parameterStatus:
            guard case .authenticated = state else { return [violation("ParameterStatus")] }
            guard let parameter = BackendMessage.decodeParameterStatus(body) else { return [violation("an invalid ParameterStatus")] }
            parameters.record(parameter)
            return []
        case BackendMessageType.backendKeyData:
            guard case .authenticated = state else { return [violation("BackendKeyData")] }
            guard let key = BackendMessage.decodeBackendKeyData(body) else { return [violation("an invalid BackendKeyData")] }
            self.key = key
            return []
        case BackendMessageType.readyForQuery:
            guard case .authenticated = state else { return [violation("ReadyForQuery")] }
            return [.ready(parameters: parameters, key: key)]
        default:
            return [violation("message type \(Self.describe(type)) during login")]
        }
    }

    private mutating func authenticate(_ request: AuthenticationRequest) -> [Action] {
        switch (state, request) {
        case (.awaitingRequest, .ok):
            guard allowedMethods.contains(.none) else {
                return [refused("the server let Sluice in without authentication, which server_auth_methods = \(allowedMethods.description) does not allow")]
            }
            state = .authenticated
            return []
        case (.awaitingRequest, .cleartextPassword):
            guard allowedMethods.contains(.password) else { return [notAllowed("a cleartext password")] }
            guard case .password(let password) = credential else { return [noPassword("a cleartext password")] }
            state = .sentPassword
            return [.send(FrontendMessage.password(password))]
        case (.awaitingRequest, .md5Password(let salt)):
            guard allowedMethods.contains(.md5) else { return [notAllowed("an md5 password")] }
            let hash: String
            switch credential {
            case .password(let password): hash = MD5Password.hash(password: password, user: user)
            case .md5Hash(let stored): hash = stored
            case .none, .scramKeys: return [noPassword("an md5 password")]
            }
            state = .sentPassword
            return [.send(FrontendMessage.password(MD5Password.response(storedHash: hash, salt: salt)))]
        case (.awaitingRequest, .sasl(let mechanisms)):
            guard allowedMethods.contains(.scramSHA256) else { return [notAllowed("SASL (\(mechanisms.joined(separator: ", ")))")] }
            guard mechanisms.contains("SCRAM-SHA-256") else {
                return [refused("server offers no supported SASL mechanism (\(mechanisms.joined(separator: ", ")))")]
            }
            let client: ScramClient
            switch credential {
            case .password(let password):
                client = ScramClient(credential: .password(password), clientNonce: nonce)
            case .scramKeys(let clientKey, let serverKey):
                client = ScramClient(credential: .clientKey(clientKey: clientKey, serverKey: serverKey), clientNonce: nonce)
            case .none, .md5Hash:
                return [noPassword("SCRAM-SHA-256 authentication")]
            }
            state = .awaitingServerFirst(client)
            return [.send(FrontendMessage.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: client.clientFirstMessage()))]
        case (.awaitingServerFirst(var client), .saslContinue(let data)):
            switch client.receiveServerFirst(data) {
            case .success(let final):
                state = .awaitingServerFinal(client)
                return [.send(FrontendMessage.saslResponse(final))]
            case .failure(let error):
                return [refused("SCRAM exchange with the server failed: \(error)")]
            }
        case (.awaitingServerFinal(var client), .saslFinal(let data)):
            switch client.receiveServerFinal(data) {
            case .success:
                state = .scramVerified
                return []
            case .failure:
                return [refused("the server's SCRAM signature is invalid: it does not know the password")]
            }
        case (.awaitingServerFirst, .ok), (.awaitingServerFinal, .ok):
            return [refused("the server ended SCRAM authentication without proving it knows the password")]
        case (.scramVerified, .ok), (.sentPassword, .ok):
            state = .authenticated
            return []
        case (.awaitingRequest, .unsupported(let code)):
            return [refused("the server asks for an authentication method Sluice does not support (code \(code))")]
        default:
            return [violation("authentication request \(Self.describe(request))")]
        }
    }

    /// The state in words, for log lines.
    private var stage: String {
        switch state {
        case .awaitingRequest: "before authentication"
        case .sentPassword: "after the password, before AuthenticationOk"
        case .awaitingServerFirst: "before the SCRAM server-first message"
        case .awaitingServerFinal: "before the SCRAM server signature"
        case .scramVerified: "after the SCRAM server signature, before AuthenticationOk"
        case .authenticated: "after authentication"
        case .finished: "after the login ended"
        }
    }

    /// 08P01 for a message PostgreSQL never sends where the login is, or cannot be read.
    private func violation(_ what: String) -> Action {
        .failed(ErrorFields(code: SQLState.protocolViolation, message: "server sent \(what) \(stage): login abandoned"))
    }

    private func refused(_ message: String) -> Action {
        .failed(ErrorFields(code: SQLState.invalidAuthorization, message: message))
    }

    private func notAllowed(_ method: String) -> Action {
        refused("the server asks for \(method), which server_auth_methods = \(allowedMethods.description) does not allow")
    }

    private func noPassword(_ method: String) -> Action {
        refused("the server asks for \(method), and no suitable secret is configured for user \"\(user)\"")
    }

    private static func describe(_ type: UInt8) -> String {
        (0x20..<0x7F).contains(type) ? "'\(Character(Unicode.Scalar(type)))'" : "\(type)"
    }

    private static func describe(_ request: AuthenticationRequest) -> String {
        switch request {
        case .ok: "AuthenticationOk"
        case .cleartextPassword: "AuthenticationCleartextPassword"
        case .md5Password: "AuthenticationMD5Password"
        case .sasl: "AuthenticationSASL"
        case .saslContinue: "AuthenticationSASLContinue"
        case .saslFinal: "AuthenticationSASLFinal"
        case .unsupported(let code): "code \(code)"
        }
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
