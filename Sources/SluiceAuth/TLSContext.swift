import COpenSSL

/// Why a TLS context or session could not do its work: OpenSSL's own words, with the step.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ step: String) {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            reasons.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        description = reasons.isEmpty ? step : "\(step): \(reasons.joined(separator: "; "))"
    }

    public init(message: String) {
        description = message
    }
}

/// One side's TLS configuration (an OpenSSL `SSL_CTX`): certificate and key, the CA that
/// peers' certificates must chain to, protocol versions and ciphers. Built once per
/// configuration and shared by every session, on any thread (OpenSSL allows that for a
/// context no longer changed).
public final class TLSContext: @unchecked Sendable {
    public enum Role: Sendable {
        /// Sluice accepting clients.
        case server
        /// Sluice connecting to PostgreSQL.
        case client
    }

    let context: OpaquePointer
    public let role: Role
    /// Peers must present a certificate that chains to the CA (verify-ca, verify-full).
    public let verifiesPeer: Bool

    /// - Parameters:
    ///   - protocols: PgBouncer's `tls_protocols` words: `secure` (TLS 1.2 and 1.3), `all`,
    ///     `legacy`, or a list of `tlsv1.2`, `tlsv1.3`; the lowest named is the minimum.
    ///   - ciphers: an OpenSSL cipher list; `default`, `secure` and `normal` keep OpenSSL's.
    public init(role: Role, certificateFile: String?, keyFile: String?, caFile: String?, verifyPeer: Bool,
                protocols: String = "secure", ciphers: String = "default") throws(TLSError) {
        guard let context = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError("SSL_CTX_new")
        }
        self.context = context
        self.role = role
        self.verifiesPeer = verifyPeer
        if let certificateFile {
            guard SSL_CTX_use_certificate_chain_file(context, certificateFile) == 1 else {
                throw TLSError("cannot load certificate \(certificateFile)")
            }
        }
        if let keyFile {
            guard SSL_CTX_use_PrivateKey_file(context, keyFile, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError("cannot load private key \(keyFile)")
            }
            guard SSL_CTX_check_private_key(context) == 1 else { throw TLSError("the private key does not match the certificate") }
        }
        if let caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else { throw TLSError("cannot load CA file \(caFile)") }
        }
        if verifyPeer {
            guard caFile != nil else { throw TLSError(message: "verifying peers needs a CA file") }
            let mode = role == .server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER
            SSL_CTX_set_verify(context, mode, nil)
        } else if role == .server && caFile != nil {
            // Clients may present a certificate (for auth_hba_file's cert method); one that
            // does not verify fails the handshake.
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        }
        let minimum = try Self.minimumVersion(protocols)
        guard SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, minimum, nil) == 1 else {
            throw TLSError("cannot set the minimum TLS version")
        }
        if !["default", "secure", "normal", "fast", ""].contains(ciphers.lowercased()) {
            guard SSL_CTX_set_cipher_list(context, ciphers) == 1 else { throw TLSError("invalid cipher list \(ciphers)") }
        }
        if role == .server {
            SSL_CTX_set_alpn_select_cb(context, selectPostgreSQLProtocol, nil)
        }
    }

    deinit {
        SSL_CTX_free(context)
    }

    private static func minimumVersion(_ protocols: String) throws(TLSError) -> Int {
        let words = protocols.lowercased().split { $0 == "," || $0 == " " || $0 == ":" }.map(String.init)
        var minimum: Int?
        for word in words {
            let version: Int
            switch word {
            case "secure": version = Int(TLS1_2_VERSION)
            case "all", "legacy", "tlsv1", "tlsv1.0": version = Int(TLS1_VERSION)
            case "tlsv1.1": version = Int(TLS1_1_VERSION)
            case "tlsv1.2": version = Int(TLS1_2_VERSION)
            case "tlsv1.3": version = Int(TLS1_3_VERSION)
            default: throw TLSError(message: "unknown TLS protocol \"\(word)\"")
            }
            minimum = min(minimum ?? version, version)
        }
        return minimum ?? Int(TLS1_2_VERSION)
    }
}

/// ALPN for PostgreSQL 17's direct TLS: the only protocol Sluice speaks is `postgresql`; a
/// client offering others but not it fails the handshake, as PostgreSQL's does.
private let selectPostgreSQLProtocol: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
    guard let out, let outLength, let offered else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    var index = 0
    let total = Int(offeredLength)
    while index < total {
        let length = Int(offered[index])
        guard index + 1 + length <= total else { break }
        let name = UnsafeBufferPointer(start: offered + index + 1, count: length)
        if name.elementsEqual("postgresql".utf8) {
            out.pointee = offered + index + 1
            outLength.pointee = UInt8(length)
            return SSL_TLSEXT_ERR_OK
        }
        index += 1 + length
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL
}
