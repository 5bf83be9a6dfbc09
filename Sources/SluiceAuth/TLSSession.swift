import COpenSSL

/// One TLS connection, sans I/O: OpenSSL works on two memory buffers, so the caller moves
/// ciphertext between the socket and the session, and plaintext between the session and its
/// protocol code. Not thread-safe: one connection's loop uses it.
public final class TLSSession {
    public enum Progress: Equatable {
        /// Nothing more can happen until more ciphertext arrives.
        case waiting
        /// The peer ended the TLS session (close_notify).
        case closed
    }

    private let ssl: OpaquePointer
    /// Ciphertext from the peer, for OpenSSL to read.
    private let incoming: OpaquePointer
    /// Ciphertext OpenSSL wrote, for the socket.
    private let outgoing: OpaquePointer
    public private(set) var isEstablished = false
    private let context: TLSContext

    /// - Parameter serverName: for a client session, the host name to send (SNI) and, with
    ///   `verifyHostName`, to find in the server's certificate (verify-full).
    public init(context: TLSContext, serverName: String? = nil, verifyHostName: Bool = false) throws(TLSError) {
        guard let ssl = SSL_new(context.context) else { throw TLSError("SSL_new") }
        guard let incoming = BIO_new(BIO_s_mem()), let outgoing = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError("BIO_new")
        }
        self.ssl = ssl
        self.incoming = incoming
        self.outgoing = outgoing
        self.context = context
        SSL_set_bio(ssl, incoming, outgoing)
        switch context.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let serverName, !serverName.hasPrefix("/") {
                if !Self.isAddress(serverName) {
                    _ = serverName.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
                }
                if verifyHostName {
                    let set = Self.isAddress(serverName) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) : SSL_set1_host(ssl, serverName)
                    guard set == 1 else { throw TLSError("cannot check the host name \(serverName)") }
                }
            }
        }
    }

    deinit {
        SSL_free(ssl)
    }

    private static func isAddress(_ host: String) -> Bool {
        host.contains(":") || host.allSatisfy { $0 == "." || $0.isNumber }
    }

    /// Starts a client handshake: its first flight is then in `takeOutput()`.
    public func start() throws(TLSError) {
        _ = try advance()
    }

    /// Ciphertext arrived from the peer, for `read` to decrypt (and the handshake to use).
    public func receive(_ ciphertext: UnsafeRawBufferPointer) throws(TLSError) {
        guard ciphertext.count > 0 else { return }
        let written = BIO_write(incoming, ciphertext.baseAddress, Int32(ciphertext.count))
        guard written == Int32(ciphertext.count) else { throw TLSError("BIO_write") }
    }

    /// Decrypts into `buffer` (at most `capacity` bytes); returns how many bytes were written,
    /// and whether the peer closed. Completes the handshake first.
    public func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws(TLSError) -> (count: Int, closed: Bool) {
        if !isEstablished {
            guard try advance() else { return (0, false) }
        }
        var total = 0
        while total < capacity {
            let result = SSL_read(ssl, buffer + total, Int32(min(capacity - total, Int(Int32.max))))
            if result > 0 {
                total += Int(result)
                continue
            }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return (total, false)
            case SSL_ERROR_ZERO_RETURN: return (total, true)
            default: throw TLSError("TLS read failed")
            }
        }
        return (total, false)
    }

    /// Encrypts `plaintext`; the ciphertext is then in `takeOutput()`.
    public func write(_ plaintext: UnsafeRawBufferPointer) throws(TLSError) {
        guard plaintext.count > 0 else { return }
        let result = SSL_write(ssl, plaintext.baseAddress, Int32(plaintext.count))
        guard result == Int32(plaintext.count) else { throw TLSError("TLS write failed") }
    }

    /// Ciphertext waiting to go to the peer (handshake messages, records, alerts).
    public func takeOutput() -> [UInt8] {
        let pending = Int(BIO_ctrl_pending(outgoing))
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = bytes.withUnsafeMutableBytes { BIO_read(outgoing, $0.baseAddress, Int32(pending)) }
        return read > 0 ? Array(bytes.prefix(Int(read))) : []
    }

    /// Moves the handshake on; true once it has completed.
    private func advance() throws(TLSError) -> Bool {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            isEstablished = true
            return true
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return false
        default:
            let verification = SSL_get_verify_result(ssl)
            if verification != X509_V_OK, let reason = X509_verify_cert_error_string(Int(verification)) {
                throw TLSError(message: "certificate verification failed: \(String(cString: reason))")
            }
            throw TLSError("TLS handshake failed")
        }
    }

    /// The protocol the client chose with ALPN, if any.
    public var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// True when the peer presented a certificate that verified against the CA.
    public var peerCertificateVerified: Bool {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return false }
        X509_free(certificate)
        return SSL_get_verify_result(ssl) == X509_V_OK
    }

    /// The peer certificate's subject common name, if it has one.
    public var peerCommonName: String? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        guard let subject = X509_get_subject_name(certificate) else { return nil }
        var name = [CChar](repeating: 0, count: 256)
        let length = X509_NAME_get_text_by_NID(subject, NID_commonName, &name, Int32(name.count))
        guard length > 0 else { return nil }
        return String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `tls-server-end-point` channel-binding data (RFC 5929): the hash of this server's
    /// certificate, with the certificate's signature hash (SHA-256 in place of MD5 and SHA-1).
    public var serverEndPoint: [UInt8]? {
        guard context.role == .server, let certificate = SSL_get_certificate(ssl) else { return nil }
        var digestNID: Int32 = 0
        var keyNID: Int32 = 0
        guard OBJ_find_sigid_algs(X509_get_signature_nid(certificate), &digestNID, &keyNID) == 1 else { return nil }
        let digest = digestNID == NID_md5 || digestNID == NID_sha1 ? EVP_sha256() : EVP_get_digestbyname(OBJ_nid2sn(digestNID))
        guard let digest else { return nil }
        var hash = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(certificate, digest, &hash, &length) == 1 else { return nil }
        return Array(hash.prefix(Int(length)))
    }
}
