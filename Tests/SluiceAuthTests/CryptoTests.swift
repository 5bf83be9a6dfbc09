import Testing
@testable import SluiceAuth

@Suite struct CryptoTests {
    @Test func sha256KnownAnswer() {
        #expect(Crypto.hex(Crypto.sha256(Array("abc".utf8)))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func hmacKnownAnswer() {
        let mac = Crypto.hmacSHA256(key: Array("key".utf8), data: Array("The quick brown fox jumps over the lazy dog".utf8))
        #expect(Crypto.hex(mac) == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }

    @Test func hmacWithEmptyKeyAndData() {
        // python3: hmac.new(b'', b'', 'sha256').hexdigest()
        #expect(Crypto.hex(Crypto.hmacSHA256(key: [], data: []))
            == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test func md5Hex() {
        #expect(Crypto.md5Hex(Array("passworduser".utf8)) == "4d45974e13472b5a0be3533de4666414")
    }

    @Test func randomBytesAreFreshAndSized() {
        #expect(Crypto.randomBytes(0).isEmpty)
        let a = Crypto.randomBytes(32), b = Crypto.randomBytes(32)
        #expect(a.count == 32)
        #expect(a != b)
    }

    @Test func constantTimeEqual() {
        #expect(Crypto.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(Crypto.constantTimeEqual([], []))
    }

    @Test func base64RoundTrip() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("n,,".utf8)) == "biws")
        #expect(Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ==")?.count == 16)
    }

    @Test(arguments: ["abc", "ab=c", "a===", "ab!d", "=abc", "YQ==YQ==", "YQ=", "YR==", "YWJ=", "\u{e9}abc"])
    func base64RejectsMalformed(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
