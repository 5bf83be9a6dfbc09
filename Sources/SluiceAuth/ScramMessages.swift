// Parsing and encoding of the four SCRAM-SHA-256 messages (RFC 5802 §7) in the subset
// PostgreSQL speaks: no authorization identity, channel binding type `tls-server-end-point`.

/// A cursor over a SCRAM attribute list: `name=value` pairs separated by commas.
struct ScramAttributeReader {
    let bytes: [UInt8]
    private(set) var index: Int

    init(_ bytes: [UInt8], from index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    var isAtEnd: Bool { index == bytes.count }

    /// The next attribute's name, if any.
    var nextName: UInt8? { isAtEnd ? nil : bytes[index] }

    /// Reads `name=value` and the comma after it, if any; `name` must match.
    mutating func read(_ name: Unicode.Scalar) throws(ScramError) -> [UInt8] {
        let attribute = try readAny()
        guard attribute.name == UInt8(ascii: name) else {
            throw .malformedMessage("expected attribute '\(name)'")
        }
        return attribute.value
    }

    /// Reads any `name=value` and the comma after it, if any.
    mutating func readAny() throws(ScramError) -> (name: UInt8, value: [UInt8]) {
        guard index + 1 < bytes.count, Self.isAttributeName(bytes[index]), bytes[index + 1] == UInt8(ascii: "=") else {
            throw .malformedMessage("expected an attribute")
        }
        let name = bytes[index]
        let start = index + 2
        let end = bytes[start...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.count
        index = end
        if end < bytes.count {
            index += 1
            guard index < bytes.count else { throw .malformedMessage("trailing comma") }
        }
        return (name, Array(bytes[start..<end]))
    }

    /// Skips the optional extension attributes that may end a message.
    mutating func skipExtensions() throws(ScramError) {
        while !isAtEnd { _ = try readAny() }
    }

    private static func isAttributeName(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}

/// Helpers for the `printable` nonce syntax: ASCII 0x21–0x7E except ','.
enum ScramNonce {
    static func isPrintable(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: ",") }
    }

    /// `bytes` when already a valid, non-empty printable nonce; otherwise their base64
    /// encoding, which is how PostgreSQL turns raw random bytes into a nonce.
    static func printable(_ bytes: [UInt8]) -> [UInt8] {
        !bytes.isEmpty && isPrintable(bytes) ? bytes : Array(Base64.encode(bytes).utf8)
    }
}

/// The GS2 channel-binding flag that opens client-first-message.
enum GS2ChannelBinding: Equatable {
    /// `n`: the client does not support channel binding.
    case unsupported
    /// `y`: the client supports it but believes the server does not.
    case notOffered
    /// `p=tls-server-end-point`: the client binds to the TLS server certificate.
    case tlsServerEndPoint

    static let tlsServerEndPointName = Array("tls-server-end-point".utf8)
}

/// `gs2-header client-first-message-bare`, e.g. `n,,n=,r=<nonce>`.
struct ClientFirstMessage {
    var channelBinding: GS2ChannelBinding
    /// `n,,`, `y,,` or `p=tls-server-end-point,,`: echoed (base64) in client-final-message.
    var gs2Header: [UInt8]
    /// The message without the GS2 header; the first part of the AuthMessage.
    var bare: [UInt8]
    var nonce: [UInt8]

    var bytes: [UInt8] { gs2Header + bare }

    init(channelBinding: GS2ChannelBinding, user: String, nonce: [UInt8]) {
        self.channelBinding = channelBinding
        switch channelBinding {
        case .unsupported: gs2Header = Array("n,,".utf8)
        case .notOffered: gs2Header = Array("y,,".utf8)
        case .tlsServerEndPoint: gs2Header = Array("p=".utf8) + GS2ChannelBinding.tlsServerEndPointName + Array(",,".utf8)
        }
        bare = Array("n=".utf8) + Self.saslName(user) + Array(",r=".utf8) + nonce
        self.nonce = nonce
    }

    /// Parses a client-first-message. The user name is ignored, as PostgreSQL does: the
    /// startup packet already named the user.
    init(parsing message: [UInt8]) throws(ScramError) {
        var reader = ScramAttributeReader(message)
        switch reader.nextName {
        case UInt8(ascii: "n"), UInt8(ascii: "y"):
            channelBinding = reader.nextName == UInt8(ascii: "n") ? .unsupported : .notOffered
            guard message.count > 1, message[1] == UInt8(ascii: ",") else {
                throw .malformedMessage("expected ',' after channel binding flag")
            }
            reader = ScramAttributeReader(message, from: 2)
        case UInt8(ascii: "p"):
            guard try reader.read("p") == GS2ChannelBinding.tlsServerEndPointName else {
                throw .unsupportedChannelBinding
            }
            channelBinding = .tlsServerEndPoint
        default:
            throw .malformedMessage("invalid channel binding flag")
        }
        if reader.nextName == UInt8(ascii: "a") {
            throw .malformedMessage("authorization identity is not supported")
        }
        guard reader.nextName == UInt8(ascii: ",") else {
            throw .malformedMessage("expected ',' after GS2 header")
        }
        reader = ScramAttributeReader(message, from: reader.index + 1)
        gs2Header = Array(message[..<reader.index])
        bare = Array(message[reader.index...])
        if reader.nextName == UInt8(ascii: "m") { throw .unsupportedExtension }
        _ = try reader.read("n")
        nonce = try reader.read("r")
        guard !nonce.isEmpty, ScramNonce.isPrintable(nonce) else {
            throw .malformedMessage("invalid client nonce")
        }
        try reader.skipExtensions()
    }

    /// RFC 5802 `saslname`: ',' and '=' escaped as `=2C` and `=3D`.
    private static func saslName(_ user: String) -> [UInt8] {
        user.utf8.flatMap { byte -> [UInt8] in
            switch byte {
            case UInt8(ascii: ","): Array("=2C".utf8)
            case UInt8(ascii: "="): Array("=3D".utf8)
            default: [byte]
            }
        }
    }
}

/// `r=<client nonce + server nonce>,s=<salt>,i=<iterations>`.
struct ServerFirstMessage {
    var nonce: [UInt8]
    var salt: [UInt8]
    var iterations: Int

    var bytes: [UInt8] {
        Array("r=".utf8) + nonce + Array(",s=\(Base64.encode(salt)),i=\(iterations)".utf8)
    }

    init(nonce: [UInt8], salt: [UInt8], iterations: Int) {
        self.nonce = nonce
        self.salt = salt
        self.iterations = iterations
    }

    init(parsing message: [UInt8]) throws(ScramError) {
        var reader = ScramAttributeReader(message)
        if reader.nextName == UInt8(ascii: "m") { throw .unsupportedExtension }
        nonce = try reader.read("r")
        guard !nonce.isEmpty, ScramNonce.isPrintable(nonce) else {
            throw .malformedMessage("invalid server nonce")
        }
        guard let salt = Base64.decode(String(decoding: try reader.read("s"), as: UTF8.self)), !salt.isEmpty else {
            throw .malformedMessage("invalid salt")
        }
        self.salt = salt
        let count = try reader.read("i")
        guard !count.isEmpty, count.count <= 10,
              count.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let iterations = Int(String(decoding: count, as: UTF8.self)),
              iterations > 0, iterations <= Int(Int32.max)
        else { throw .malformedMessage("invalid iteration count") }
        self.iterations = iterations
        try reader.skipExtensions()
    }
}

/// `c=<base64 channel binding>,r=<nonce>[,extensions],p=<base64 proof>`.
struct ClientFinalMessage {
    /// The decoded `c=` value: the GS2 header followed by any channel binding data.
    var channelBinding: [UInt8]
    var nonce: [UInt8]
    var proof: [UInt8]
    /// Everything before `,p=`: the last part of the AuthMessage.
    var withoutProof: [UInt8]

    static func encodeWithoutProof(channelBinding: [UInt8], nonce: [UInt8]) -> [UInt8] {
        Array("c=\(Base64.encode(channelBinding)),r=".utf8) + nonce
    }

    static func encode(withoutProof: [UInt8], proof: [UInt8]) -> [UInt8] {
        withoutProof + Array(",p=\(Base64.encode(proof))".utf8)
    }

    init(parsing message: [UInt8]) throws(ScramError) {
        var reader = ScramAttributeReader(message)
        guard let channelBinding = Base64.decode(String(decoding: try reader.read("c"), as: UTF8.self)) else {
            throw .malformedMessage("invalid channel binding encoding")
        }
        self.channelBinding = channelBinding
        nonce = try reader.read("r")
        while true {
            guard !reader.isAtEnd else { throw .malformedMessage("missing proof") }
            let proofStart = reader.index
            let attribute = try reader.readAny()
            guard attribute.name == UInt8(ascii: "p") else { continue }
            guard reader.isAtEnd else { throw .malformedMessage("proof must be the last attribute") }
            guard let proof = Base64.decode(String(decoding: attribute.value, as: UTF8.self)), proof.count == 32 else {
                throw .malformedMessage("invalid proof encoding")
            }
            self.proof = proof
            withoutProof = Array(message[..<(proofStart - 1)])
            return
        }
    }
}

/// `v=<base64 server signature>` or `e=<error>`.
enum ServerFinalMessage: Equatable {
    case verifier([UInt8])
    case error(String)

    var bytes: [UInt8] {
        switch self {
        case .verifier(let signature): Array("v=\(Base64.encode(signature))".utf8)
        case .error(let value): Array("e=\(value)".utf8)
        }
    }

    init(parsing message: [UInt8]) throws(ScramError) {
        var reader = ScramAttributeReader(message)
        let attribute = try reader.readAny()
        switch attribute.name {
        case UInt8(ascii: "e"):
            self = .error(String(decoding: attribute.value, as: UTF8.self))
        case UInt8(ascii: "v"):
            guard let signature = Base64.decode(String(decoding: attribute.value, as: UTF8.self)) else {
                throw .malformedMessage("invalid server signature encoding")
            }
            self = .verifier(signature)
        default:
            throw .malformedMessage("expected attribute 'v' or 'e'")
        }
        try reader.skipExtensions()
    }
}
