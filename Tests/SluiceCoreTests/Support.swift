import Testing
import PostgresWire
import SluiceAuth
import SluiceConfig
@testable import SluiceCore

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Splits one typed message into its type and body, checking its length field.
func split(_ message: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> (type: UInt8, body: [UInt8]) {
    try #require(message.count >= 5, sourceLocation: sourceLocation)
    let length = Int(UInt32(bigEndianBytes: message, at: 1))
    try #require(length == message.count - 1, "length field", sourceLocation: sourceLocation)
    return (message[0], Array(message[5...]))
}

/// Deterministic "randomness": the first `count` characters of a printable alphabet.
let fixedRandom: @Sendable (Int) -> [UInt8] = { count in
    Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8.prefix(count))
}
let fixedSalt = fixedRandom(4)
let fixedServerNonce = "0123456789ABCDEFGH"
let mockKey = [UInt8](repeating: 0x42, count: 32)

func policy(_ authType: AuthType, users: [String: StoredSecret] = [:], hasUserlist: Bool = true,
            ignored: Set<String> = [], extra: [String] = []) -> ClientLoginPolicy {
    ClientLoginPolicy(authType: authType, hasUserlist: hasUserlist, secret: { users[$0] },
                      ignoredStartupParameters: ignored, trackedParameters: TrackedParameters(extra: extra),
                      mockKey: mockKey)
}

func startup(_ parameters: KeyValuePairs<String, String>, minor: UInt16 = 0) -> StartupPacket {
    .startup(majorVersion: 3, minorVersion: minor, parameters: parameters.map { StartupParameter(name: $0.key, value: $0.value) })
}

extension ClientLogin {
    init(_ policy: ClientLoginPolicy) { self.init(policy: policy, random: fixedRandom) }

    /// Feeds one whole frontend message (type, length, body).
    mutating func feed(_ message: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> [Action] {
        let (type, body) = try split(message, sourceLocation: sourceLocation)
        return receive(type: type, body: body)
    }
}

extension ServerLogin {
    /// Feeds one whole backend message (type, length, body).
    mutating func feed(_ message: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> [Action] {
        let (type, body) = try split(message, sourceLocation: sourceLocation)
        return receive(type: type, body: body)
    }
}

func identity(_ user: String, _ database: String? = nil, parameters: [StartupParameter] = [], key: [UInt8]? = nil) -> ClientIdentity {
    ClientIdentity(user: user, database: database ?? user, parameters: parameters, scramClientKey: key)
}

func passwordFailed(_ user: String) -> ClientLogin.Action {
    .reject(ErrorFields(code: "28P01", message: "password authentication failed for user \"\(user)\""))
}

func succeeded(_ identity: ClientIdentity) -> [ClientLogin.Action] {
    [.send(AuthenticationRequest.ok.encoded), .authenticated(identity)]
}

/// SCRAM's ClientKey computed from first principles: HMAC(SaltedPassword, "Client Key").
func expectedClientKey(password: String, salt: [UInt8], iterations: Int = 4096) -> [UInt8] {
    let salted = Crypto.pbkdf2SHA256(password: bytes(password), salt: salt, iterations: iterations)
    return Crypto.hmacSHA256(key: salted, data: bytes("Client Key"))
}

/// The `s=` attribute of a server-first-message.
func scramSalt(ofServerFirst message: [UInt8]) -> [UInt8]? {
    let text = String(decoding: message, as: UTF8.self)
    guard let attribute = text.split(separator: ",").first(where: { $0.hasPrefix("s=") }) else { return nil }
    return Base64.decode(String(attribute.dropFirst(2)))
}
