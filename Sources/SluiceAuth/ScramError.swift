/// Why a SCRAM-SHA-256 exchange failed.
///
/// Associated texts describe the structural problem only; they never quote message content,
/// passwords, keys or proofs.
public enum ScramError: Error, Sendable, Equatable {
    /// A message does not follow the RFC 5802 grammar; the text names the problem.
    case malformedMessage(String)
    /// The peer requires a mandatory extension (`m=`), which is not supported.
    case unsupportedExtension
    /// The client asked for channel binding that this exchange cannot provide: no binding data
    /// was offered, or the type is not `tls-server-end-point`.
    case unsupportedChannelBinding
    /// The client sent flag `y` (it believes the server cannot bind) although the server
    /// offered channel binding: a possible downgrade, refused as PostgreSQL does.
    case channelBindingNegotiation
    /// The channel binding in client-final-message differs from the one announced or expected.
    case channelBindingMismatch
    /// The nonce does not extend the client's nonce, or differs from the negotiated one.
    case nonceMismatch
    /// The client's proof does not match the secret (wrong password or unknown user).
    case invalidProof
    /// The server's signature does not match: it does not know the secret.
    case invalidServerSignature
    /// The server ended the exchange with `e=<value>`.
    case serverError(String)
    /// A message arrived in a state that does not expect it, or after the exchange ended.
    case outOfSequence
}
