/// PostgreSQL's `md5` password authentication.
///
/// The stored form is `"md5" + hex(md5(password + user))`; on the wire the client answers a
/// 4-byte salt with `"md5" + hex(md5(hex-part-of-stored-form + salt))`.
public enum MD5Password {
    /// The stored form of `password` for `user`, as in `pg_authid` and PgBouncer's userlist.
    public static func hash(password: String, user: String) -> String {
        "md5" + Crypto.md5Hex(Array(password.utf8) + Array(user.utf8))
    }

    /// The client's answer to `salt` given a stored `md5…` hash.
    public static func response(storedHash: String, salt: [UInt8]) -> String {
        let hexPart = storedHash.hasPrefix("md5") ? storedHash.dropFirst(3) : Substring(storedHash)
        return "md5" + Crypto.md5Hex(Array(hexPart.utf8) + salt)
    }

    /// Checks a client's `PasswordMessage` content against a plaintext or md5 secret, in
    /// constant time. A SCRAM verifier cannot check an md5 answer, so it always fails.
    public static func verify(clientResponse: String, secret: StoredSecret, user: String, salt: [UInt8]) -> Bool {
        let storedHash: String
        switch secret {
        case .plaintext(let password): storedHash = hash(password: password, user: user)
        case .md5(let hash): storedHash = hash
        case .scramSHA256: return false
        }
        let expected = response(storedHash: storedHash, salt: salt)
        return Crypto.constantTimeEqual(Array(expected.utf8), Array(clientResponse.utf8))
    }
}
