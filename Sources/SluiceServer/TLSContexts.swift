import SluiceAuth
import SluiceConfig
import SluiceIO

extension TLSSession: ConnectionSecurity {}

/// The TLS contexts the configuration calls for: toward clients (client_tls_*) and toward
/// PostgreSQL (server_tls_*). Built at start and on reload; a bad certificate or key is a
/// clear error then, not at a client's first handshake.
struct TLSContexts {
    /// Set unless client_tls_sslmode is disable.
    let client: TLSContext?
    /// Set when server connections ask for TLS (server_tls_sslmode prefer or stronger).
    let server: TLSContext?
    let clientMode: String
    let serverMode: String

    init(_ settings: Settings) throws(TLSError) {
        clientMode = settings.clientTLSSSLMode
        serverMode = settings.serverTLSSSLMode
        if clientMode == "disable" {
            client = nil
        } else {
            guard settings.clientTLSCertFile != nil, settings.clientTLSKeyFile != nil else {
                throw TLSError(message: "client_tls_sslmode = \(clientMode) needs client_tls_cert_file and client_tls_key_file")
            }
            client = try TLSContext(
                role: .server, certificateFile: settings.clientTLSCertFile, keyFile: settings.clientTLSKeyFile,
                caFile: settings.clientTLSCAFile, verifyPeer: clientMode.hasPrefix("verify"),
                protocols: settings.clientTLSProtocols, ciphers: settings.clientTLSCiphers)
        }
        if ["disable", "allow"].contains(serverMode) {
            server = nil
        } else {
            server = try TLSContext(
                role: .client, certificateFile: settings.serverTLSCertFile, keyFile: settings.serverTLSKeyFile,
                caFile: settings.serverTLSCAFile, verifyPeer: serverMode.hasPrefix("verify"),
                protocols: settings.serverTLSProtocols, ciphers: settings.serverTLSCiphers)
        }
    }

    /// A client must use TLS.
    var clientRequiresTLS: Bool { ["require", "verify-ca", "verify-full"].contains(clientMode) }
    /// A server that refuses TLS is a failed connection.
    var serverRequiresTLS: Bool { ["require", "verify-ca", "verify-full"].contains(serverMode) }
    var serverVerifiesHostName: Bool { serverMode == "verify-full" }
}
