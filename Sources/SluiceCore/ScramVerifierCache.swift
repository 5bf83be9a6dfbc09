import SluiceAuth
import Synchronization

/// SCRAM verifiers derived from plaintext userlist passwords, one per user, so a SCRAM login
/// against a plaintext secret costs a few hashes instead of 4096 rounds of PBKDF2 each time.
/// An entry is derived again when the user's password changes (a reloaded userlist).
public final class ScramVerifierCache: Sendable {
    private let entries = Mutex<[String: (password: String, verifier: ScramVerifier)]>([:])
    private let derive: @Sendable (String) -> ScramVerifier

    /// - Parameter derive: makes a verifier from a password; by default with a random salt.
    public init(derive: @escaping @Sendable (String) -> ScramVerifier = { password in
        ScramServer.makeVerifier(password: password, salt: Crypto.randomBytes(16), iterations: 4096)
    }) {
        self.derive = derive
    }

    public func verifier(user: String, password: String) -> ScramVerifier {
        if let entry = entries.withLock({ $0[user] }), entry.password == password { return entry.verifier }
        let verifier = derive(password)
        entries.withLock { $0[user] = (password, verifier) }
        return verifier
    }
}
