import COpenSSL

/// Hashing, MACs, key derivation and randomness over OpenSSL's libcrypto (OpenSSL 3 EVP API).
///
/// All functions are one-shot: none keeps an EVP context around between calls.
public enum Crypto {
    /// SHA-256 of `data` (32 bytes).
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        digest(data, EVP_sha256(), length: 32)
    }

    /// HMAC-SHA-256 of `data` under `key` (32 bytes).
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = withNonNilBytes(key) { key in
            withNonNilBytes(data) { data in
                output.withUnsafeMutableBytes { out in
                    HMAC(EVP_sha256(), key.baseAddress, Int32(key.count),
                         data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count,
                         out.baseAddress?.assumingMemoryBound(to: UInt8.self), &length)
                }
            }
        }
        precondition(result != nil && length == 32, "HMAC-SHA-256 failed")
        return output
    }

    /// PBKDF2 with HMAC-SHA-256 (RFC 8018), producing 32 bytes: SCRAM-SHA-256's `Hi()`.
    ///
    /// - Precondition: `iterations` is in `1...Int32.max`.
    public static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        precondition(iterations > 0 && iterations <= Int(Int32.max), "PBKDF2 iteration count out of range")
        var output = [UInt8](repeating: 0, count: 32)
        let result = withNonNilBytes(password) { password in
            withNonNilBytes(salt) { salt in
                output.withUnsafeMutableBytes { out in
                    PKCS5_PBKDF2_HMAC(password.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(password.count),
                                      salt.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(salt.count),
                                      Int32(iterations), EVP_sha256(), 32,
                                      out.baseAddress?.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        precondition(result == 1, "PBKDF2-HMAC-SHA-256 failed")
        return output
    }

    /// MD5 of `data` as 32 lowercase hex digits.
    public static func md5Hex(_ data: [UInt8]) -> String {
        hex(digest(data, EVP_md5(), length: 16))
    }

    /// `count` bytes from OpenSSL's CSPRNG. Traps only if the CSPRNG itself fails.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        let result = output.withUnsafeMutableBytes { out in
            RAND_bytes(out.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(count))
        }
        guard result == 1 else { fatalError("OpenSSL RAND_bytes failed") }
        return output
    }

    /// Compares two byte strings in time independent of their contents (`CRYPTO_memcmp`).
    /// Only the lengths, which are not secret, can end the comparison early.
    public static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard !lhs.isEmpty else { return true }
        return lhs.withUnsafeBytes { a in
            rhs.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
        }
    }

    /// Lowercase hex digits of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func digest(_ data: [UInt8], _ type: OpaquePointer?, length: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: length)
        var written: UInt32 = 0
        let result = withNonNilBytes(data) { data in
            output.withUnsafeMutableBytes { out in
                EVP_Digest(data.baseAddress, data.count, out.baseAddress?.assumingMemoryBound(to: UInt8.self),
                           &written, type, nil)
            }
        }
        precondition(result == 1 && Int(written) == length, "EVP_Digest failed")
        return output
    }

    /// Calls `body` with a buffer whose base address is never nil, even for empty input:
    /// some OpenSSL entry points give a NULL pointer a special meaning.
    private static func withNonNilBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if bytes.isEmpty {
            let placeholder: [UInt8] = [0]
            return placeholder.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<0])) }
        }
        return bytes.withUnsafeBytes(body)
    }
}
