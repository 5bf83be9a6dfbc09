/// Key derivation of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677).
enum ScramKeys {
    /// The password bytes SCRAM hashes.
    ///
    /// SASLprep (RFC 4013) of an ASCII password is the password itself, so ASCII passwords
    /// take that fast path. Full SASLprep (NFKC normalization, mapping and prohibited
    /// characters) is not implemented: a non-ASCII password is used as its raw UTF-8 bytes.
    /// That is PostgreSQL's own fallback when preparation fails, so it agrees with PostgreSQL
    /// for every password SASLprep leaves unchanged or rejects; it differs only for passwords
    /// SASLprep would rewrite (non-NFKC text, non-ASCII spaces, characters mapped to nothing).
    static func preparedPassword(_ password: String) -> [UInt8] {
        Array(password.utf8)
    }

    static func saltedPassword(_ password: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        Crypto.pbkdf2SHA256(password: preparedPassword(password), salt: salt, iterations: iterations)
    }

    static func clientKey(saltedPassword: [UInt8]) -> [UInt8] {
        Crypto.hmacSHA256(key: saltedPassword, data: Array("Client Key".utf8))
    }

    static func serverKey(saltedPassword: [UInt8]) -> [UInt8] {
        Crypto.hmacSHA256(key: saltedPassword, data: Array("Server Key".utf8))
    }

    /// `client-first-message-bare "," server-first-message "," client-final-message-without-proof`.
    static func authMessage(clientFirstBare: [UInt8], serverFirst: [UInt8], clientFinalWithoutProof: [UInt8]) -> [UInt8] {
        clientFirstBare + [UInt8(ascii: ",")] + serverFirst + [UInt8(ascii: ",")] + clientFinalWithoutProof
    }

    static func xor(_ lhs: [UInt8], _ rhs: [UInt8]) -> [UInt8] {
        zip(lhs, rhs).map { $0 ^ $1 }
    }
}

extension ScramServer {
    /// The verifier PostgreSQL would store for `password` with this salt and iteration count.
    ///
    /// - Precondition: `iterations` is in `1...Int32.max`.
    public static func makeVerifier(password: String, salt: [UInt8], iterations: Int) -> ScramVerifier {
        let salted = ScramKeys.saltedPassword(password, salt: salt, iterations: iterations)
        return ScramVerifier(
            iterations: iterations,
            salt: salt,
            storedKey: Crypto.sha256(ScramKeys.clientKey(saltedPassword: salted)),
            serverKey: ScramKeys.serverKey(saltedPassword: salted)
        )
    }
}
