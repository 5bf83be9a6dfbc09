/// A password secret as kept in a userlist file or a database entry.
///
/// PgBouncer's `userlist.txt` holds one of three forms per user; which one decides the
/// authentication methods Sluice can offer a client and use toward PostgreSQL.
public enum StoredSecret: Sendable, Equatable {
    /// The password itself.
    case plaintext(String)
    /// `md5` followed by 32 lowercase hex digits of md5(password + username).
    case md5(String)
    /// A SCRAM-SHA-256 verifier, the same form PostgreSQL keeps in `pg_authid`.
    case scramSHA256(ScramVerifier)

    /// Reads a secret in the userlist's syntax. Text that looks like neither an md5 hash nor a
    /// well-formed SCRAM verifier is a plaintext password, as in PgBouncer.
    public init(parsing text: String) {
        if let verifier = ScramVerifier(parsing: text) {
            self = .scramSHA256(verifier)
        } else if text.count == 35, text.hasPrefix("md5"),
                  text.dropFirst(3).allSatisfy({ $0.isHexDigit }) {
            self = .md5(text.lowercased())
        } else {
            self = .plaintext(text)
        }
    }
}

/// `SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>`.
public struct ScramVerifier: Sendable, Equatable {
    public var iterations: Int
    public var salt: [UInt8]
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]

    public init(iterations: Int, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8]) {
        self.iterations = iterations
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    public init?(parsing text: String) {
        let prefix = "SCRAM-SHA-256$"
        guard text.hasPrefix(prefix) else { return nil }
        let parts = text.dropFirst(prefix.count).split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let head = parts[0].split(separator: ":", omittingEmptySubsequences: false)
        let keys = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard head.count == 2, keys.count == 2,
              let iterations = Int(head[0]), iterations > 0, iterations <= Int(Int32.max),
              let salt = Base64.decode(String(head[1])), !salt.isEmpty,
              let storedKey = Base64.decode(String(keys[0])), storedKey.count == 32,
              let serverKey = Base64.decode(String(keys[1])), serverKey.count == 32
        else { return nil }
        self.init(iterations: iterations, salt: salt, storedKey: storedKey, serverKey: serverKey)
    }

    /// The verifier in the text form PostgreSQL and PgBouncer use.
    public var text: String {
        "SCRAM-SHA-256$\(iterations):\(Base64.encode(salt))$\(Base64.encode(storedKey)):\(Base64.encode(serverKey))"
    }
}
