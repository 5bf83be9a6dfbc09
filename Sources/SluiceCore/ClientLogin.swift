import PostgresWire
import SluiceAuth
import SluiceConfig

/// Who a client turned out to be once its login succeeded.
public struct ClientIdentity: Sendable, Equatable {
    public var user: String
    public var database: String
    /// Tracked startup parameters, by canonical name, in the order the client sent them.
    public var parameters: [StartupParameter]
    /// The ClientKey recovered from a SCRAM proof, for logging in to PostgreSQL without a password.
    public var scramClientKey: [UInt8]?
    /// User `pgbouncer` on the Unix socket, run by the OS user Sluice runs as, let into the
    /// admin console without a password (PgBouncer's rule for operators' scripts).
    public var isConsoleOwner = false
}

/// The database names of the admin console (unless `[databases]` defines one of them).
public enum AdminConsole {
    public static let databases: Set<String> = ["pgbouncer", "sluice"]
    /// The user the owner-on-the-Unix-socket rule applies to.
    public static let ownerUser = "pgbouncer"
}

/// What the login machine needs from the configuration, fixed for one login.
public struct ClientLoginPolicy: Sendable {
    public var authType: AuthType
    /// True when an auth_file is configured: `trust` then still requires a listed user.
    public var hasUserlist: Bool
    public var secret: @Sendable (String) -> StoredSecret?
    public var ignoredStartupParameters: Set<String>
    public var trackedParameters: TrackedParameters
    /// Keys the fake SCRAM verifier of unknown users, so they fail exactly like a wrong password.
    public var mockKey: [UInt8]
    /// The SCRAM verifier to check a plaintext-password user against. Deriving one costs 4096
    /// rounds of PBKDF2, so the pooler hands in a cache (`ScramVerifierCache`).
    public var verifierForPassword: @Sendable (_ user: String, _ password: String) -> ScramVerifier
    /// Whether an SSLRequest is answered with TLS (Sluice has a certificate and
    /// client_tls_sslmode is not disable).
    public var offersTLS = false
    /// client_tls_sslmode require, verify-ca or verify-full: a startup without TLS is refused.
    public var requiresTLS = false
    /// The rules of `auth_type = hba`.
    public var hostBasedAuthentication = HostBasedAuthentication()
    /// The client's IP address; nil for a Unix-socket client.
    public var peerAddress: String?
    /// The client is on the Unix socket and runs as the OS user Sluice runs as: as user
    /// `pgbouncer`, it enters the admin console without a password.
    public var peerIsOwner = false

    public init(authType: AuthType, hasUserlist: Bool, secret: @escaping @Sendable (String) -> StoredSecret?,
                ignoredStartupParameters: Set<String>, trackedParameters: TrackedParameters, mockKey: [UInt8],
                verifierForPassword: @escaping @Sendable (_ user: String, _ password: String) -> ScramVerifier = { _, password in
                    ScramServer.makeVerifier(password: password, salt: Crypto.randomBytes(16), iterations: 4096)
                }) {
        self.authType = authType
        self.hasUserlist = hasUserlist
        self.secret = secret
        self.ignoredStartupParameters = ignoredStartupParameters
        self.trackedParameters = trackedParameters
        self.mockKey = mockKey
        self.verifierForPassword = verifierForPassword
    }
}

/// The startup and authentication conversation with one client, sans I/O: packets and
/// messages in, bytes to send and a verdict out.
public struct ClientLogin {
    public enum Action: Equatable, Sendable {
        case send([UInt8])
        /// Answer an SSLRequest with `S` and start TLS; then call `tlsEstablished`.
        case startTLS
        /// Send this error and close the connection.
        case reject(ErrorFields)
        /// A CancelRequest: act on it, then close without answering.
        case cancel(BackendKey)
        /// Logged in; AuthenticationOk has been sent in the preceding `.send`.
        case authenticated(ClientIdentity)
    }

    private enum State {
        case awaitingStartup
        case awaitingPassword(salt: [UInt8]?)
        case awaitingSASLInitial
        case awaitingSASLResponse(ScramServer)
        case finished
    }

    private let policy: ClientLoginPolicy
    private let random: @Sendable (Int) -> [UInt8]
    private var state = State.awaitingStartup
    private var user = ""
    private var database = ""
    private var parameters: [StartupParameter] = []
    /// The connection runs over TLS.
    public private(set) var isSecure = false
    /// The `tls-server-end-point` data of the TLS connection, for SCRAM-SHA-256-PLUS.
    private var channelBinding: [UInt8]?
    /// The common name of the client certificate the TLS handshake verified, if any.
    private var certificateName: String?

    public init(policy: ClientLoginPolicy, random: @escaping @Sendable (Int) -> [UInt8]) {
        self.policy = policy
        self.random = random
    }

    /// True until the client sent its StartupMessage: packets then have no type byte.
    public var expectsStartupPacket: Bool {
        if case .awaitingStartup = state { return true }
        return false
    }

    public mutating func receive(_ packet: StartupPacket) -> [Action] {
        guard case .awaitingStartup = state else { return [protocolViolation("unexpected startup packet")] }
        switch packet {
        case .sslRequest where policy.offersTLS && !isSecure:
            return [.startTLS]
        case .sslRequest where isSecure:
            return [protocolViolation("SSLRequest over TLS")]
        case .sslRequest, .gssEncRequest:
            return [.send([UInt8(ascii: "N")])]
        case .cancel(let key):
            state = .finished
            return [.cancel(key)]
        case .startup(_, let minor, let sent):
            return startup(minor: minor, sent)
        }
    }

    /// The TLS handshake completed (after an SSLRequest, or PostgreSQL 17's direct TLS).
    public mutating func tlsEstablished(serverEndPoint: [UInt8]?, verifiedCertificateName: String? = nil) {
        isSecure = true
        channelBinding = serverEndPoint
        certificateName = verifiedCertificateName
    }

    public mutating func receive(type: UInt8, body: [UInt8]) -> [Action] {
        guard type == FrontendMessageType.password else {
            if type == FrontendMessageType.terminate { state = .finished; return [] }
            return [protocolViolation("expected password response, got message type \(Character(Unicode.Scalar(type)))")]
        }
        switch state {
        case .awaitingPassword(let salt):
            guard let password = FrontendMessage.decodePassword(body) else {
                return [protocolViolation("invalid password packet")]
            }
            return checkPassword(password, salt: salt) ? succeed(clientKey: nil) : fail()
        case .awaitingSASLInitial:
            return saslInitial(body)
        case .awaitingSASLResponse(var scram):
            switch scram.receiveClientFinal(body) {
            case .success(let final):
                return [.send(AuthenticationRequest.saslFinal(final).encoded)] + succeed(clientKey: scram.recoveredClientKey)
            case .failure(let error):
                return error == .invalidProof ? fail() : [protocolViolation("malformed SCRAM message")]
            }
        case .awaitingStartup, .finished:
            return [protocolViolation("unexpected password response")]
        }
    }

    private mutating func startup(minor: UInt16, _ sent: [StartupParameter]) -> [Action] {
        var unrecognizedOptions: [String] = []
        var fromOptions: [StartupParameter] = []
        for parameter in sent {
            let name = parameter.name.lowercased()
            switch name {
            case "user": user = parameter.value
            case "database": database = parameter.value
            case "options":
                let (settings, refusal) = settings(fromOptions: parameter.value)
                if let refusal { return [refusal] }
                fromOptions = settings
            case _ where name.hasPrefix("_pq_."): unrecognizedOptions.append(parameter.name)
            case _ where policy.ignoredStartupParameters.contains(name): continue
            default:
                guard let canonical = policy.trackedParameters.canonicalName(name) else {
                    return [protocolViolation("unsupported startup parameter: \(parameter.name)")]
                }
                parameters.removeAll { $0.name == canonical }
                parameters.append(StartupParameter(name: canonical, value: parameter.value))
            }
        }
        // As in PostgreSQL, a parameter of the startup packet wins over the same one in options.
        for parameter in fromOptions where !parameters.contains(where: { $0.name == parameter.name }) {
            parameters.append(parameter)
        }
        guard isSecure || !policy.requiresTLS else {
            state = .finished
            return [.reject(ErrorFields(code: SQLState.invalidAuthorization,
                                        message: "TLS is required (client_tls_sslmode): connect with sslmode=require or stronger"))]
        }
        guard !user.isEmpty else {
            state = .finished
            return [.reject(ErrorFields(code: SQLState.invalidAuthorization, message: "no PostgreSQL user name specified in startup packet"))]
        }
        if database.isEmpty { database = user }
        var actions: [Action] = []
        if minor > 0 || !unrecognizedOptions.isEmpty {
            actions.append(.send(BackendMessage.negotiateProtocolVersion(newestMinor: 0, unrecognizedOptions: unrecognizedOptions)))
        }
        return actions + challenge()
    }

    /// The tracked settings `options` sets (a later one of the same name winning); settings
    /// Sluice does not track are refused unless ignore_startup_parameters names them (or
    /// `options` itself), and arguments other than settings are refused: the refusal then
    /// comes back instead.
    private mutating func settings(fromOptions text: String) -> ([StartupParameter], refusal: Action?) {
        let settings: [(name: String, value: String)]
        do {
            settings = try StartupOptions.settings(in: text)
        } catch {
            // ignore_startup_parameters = options drops what Sluice cannot apply, as before.
            if policy.ignoredStartupParameters.contains("options") { return ([], nil) }
            return ([], protocolViolation("unsupported options startup parameter: only '-c config=val' and '--config=val' are allowed"))
        }
        var parameters: [StartupParameter] = []
        for (name, value) in settings {
            guard let canonical = policy.trackedParameters.canonicalName(name) else {
                let ignored = policy.ignoredStartupParameters
                if ignored.contains(name.lowercased()) || ignored.contains("options") { continue }
                return ([], protocolViolation("unsupported startup parameter in options: \(name)"))
            }
            parameters.removeAll { $0.name == canonical }
            parameters.append(StartupParameter(name: canonical, value: value))
        }
        return (parameters, nil)
    }

    /// Picks the method: the configured one, with SCRAM whenever the stored secret is a SCRAM
    /// verifier and md5 was asked for (a verifier cannot answer an md5 challenge).
    private mutating func challenge() -> [Action] {
        if policy.peerIsOwner && user == AdminConsole.ownerUser && AdminConsole.databases.contains(database) {
            var actions = succeed(clientKey: nil)
            if case .authenticated(var identity) = actions.last {
                identity.isConsoleOwner = true
                actions[actions.count - 1] = .authenticated(identity)
            }
            return actions
        }
        let secret = policy.secret(user)
        var method = policy.authType
        if method == .hba {
            switch hostBasedMethod() {
            case .success(let chosen): method = chosen
            case .failure(let refusal): return refusal.actions
            }
        }
        switch method {
        case .trust, .any:
            if policy.authType == .trust && policy.hasUserlist && secret == nil { return fail() }
            return succeed(clientKey: nil)
        case .plain:
            state = .awaitingPassword(salt: nil)
            return [.send(AuthenticationRequest.cleartextPassword.encoded)]
        case .md5:
            if case .scramSHA256 = secret { return offerSCRAM() }
            let salt = random(4)
            state = .awaitingPassword(salt: salt)
            return [.send(AuthenticationRequest.md5Password(salt: salt).encoded)]
        case .scramSHA256, .hba:
            return offerSCRAM()
        case .cert:
            guard isSecure, let certificateName, certificateName == user else {
                state = .finished
                return [.reject(ErrorFields(code: SQLState.invalidAuthorization,
                                            message: "certificate authentication failed for user \"\(user)\""))]
            }
            return succeed(clientKey: nil)
        }
    }

    private struct Refusal: Error {
        let actions: [Action]
    }

    /// The method the first matching `auth_hba_file` line names, as an auth_type.
    private mutating func hostBasedMethod() -> Result<AuthType, Refusal> {
        let origin: HostBasedAuthentication.Origin = policy.peerAddress.map { .tcp(address: $0, tls: isSecure) } ?? .unixSocket
        let chosen = policy.hostBasedAuthentication.method(database: database, user: user, origin: origin)
        let method: AuthType
        switch chosen {
        case .trust: method = .any
        case .password: method = .plain
        case .md5: method = .md5
        case .scramSHA256: method = .scramSHA256
        case .cert: method = .cert
        case .reject, .none:
            state = .finished
            let host = policy.peerAddress.map { "host \"\($0)\"" } ?? "local connection"
            let verb = chosen == .reject ? "auth_hba_file rejects" : "no auth_hba_file entry for"
            return .failure(Refusal(actions: [.reject(ErrorFields(
                code: SQLState.invalidAuthorization,
                message: "\(verb) \(host), user \"\(user)\", database \"\(database)\"\(isSecure ? ", TLS" : ", no TLS")"))]))
        }
        return .success(method)
    }

    private mutating func offerSCRAM() -> [Action] {
        state = .awaitingSASLInitial
        let mechanisms = channelBinding == nil ? ["SCRAM-SHA-256"] : ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]
        return [.send(AuthenticationRequest.sasl(mechanisms: mechanisms).encoded)]
    }

    private mutating func saslInitial(_ body: [UInt8]) -> [Action] {
        guard let (mechanism, data) = FrontendMessage.decodeSASLInitialResponse(body) else {
            return [protocolViolation("malformed SASLInitialResponse")]
        }
        // The -PLUS mechanism and a channel-binding flag of `p` go together.
        let bindsChannel = data.starts(with: Array("p=".utf8))
        guard mechanism == "SCRAM-SHA-256" && !bindsChannel
                || mechanism == "SCRAM-SHA-256-PLUS" && bindsChannel && channelBinding != nil else {
            return [protocolViolation("client selected an invalid SASL authentication mechanism")]
        }
        let serverSecret: ScramServerSecret
        switch policy.secret(user) {
        case .scramSHA256(let verifier): serverSecret = .verifier(verifier)
        case .plaintext(let password): serverSecret = .verifier(policy.verifierForPassword(user, password))
        case .md5, nil: serverSecret = .mock(user: user, key: policy.mockKey)
        }
        var scram = ScramServer(secret: serverSecret, serverNonce: random(18), channelBinding: channelBinding)
        switch scram.receiveClientFirst(data) {
        case .success(let first):
            state = .awaitingSASLResponse(scram)
            return [.send(AuthenticationRequest.saslContinue(first).encoded)]
        case .failure:
            return [protocolViolation("malformed SCRAM message")]
        }
    }

    private func checkPassword(_ password: String, salt: [UInt8]?) -> Bool {
        guard let secret = policy.secret(user) else { return false }
        if let salt { return MD5Password.verify(clientResponse: password, secret: secret, user: user, salt: salt) }
        switch secret {
        case .plaintext(let stored):
            return Crypto.constantTimeEqual(Array(stored.utf8), Array(password.utf8))
        case .md5(let stored):
            return Crypto.constantTimeEqual(Array(stored.utf8), Array(MD5Password.hash(password: password, user: user).utf8))
        case .scramSHA256(let verifier):
            let derived = ScramServer.makeVerifier(password: password, salt: verifier.salt, iterations: verifier.iterations)
            return Crypto.constantTimeEqual(derived.storedKey, verifier.storedKey)
        }
    }

    private mutating func succeed(clientKey: [UInt8]?) -> [Action] {
        state = .finished
        let identity = ClientIdentity(user: user, database: database, parameters: parameters, scramClientKey: clientKey)
        return [.send(AuthenticationRequest.ok.encoded), .authenticated(identity)]
    }

    private mutating func fail() -> [Action] {
        state = .finished
        return [.reject(ErrorFields(code: SQLState.invalidPassword, message: "password authentication failed for user \"\(user)\""))]
    }

    private mutating func protocolViolation(_ message: String) -> Action {
        state = .finished
        return .reject(ErrorFields(code: SQLState.protocolViolation, message: message))
    }
}
