import Testing
import SluiceAuth

@Suite struct ScramVerifierTests {
    /// Computed with Python: hashlib.pbkdf2_hmac('sha256', b'sluice-secret', bytes(range(16)), 4096),
    /// then StoredKey = sha256(HMAC(salted, "Client Key")), ServerKey = HMAC(salted, "Server Key").
    static let reference =
        "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$SiInJNBnA2axDHNzyTfg78nv4egML8dNnBIBGdg7oDc=:1h80zZA7+BPT/mrLPLsbSNiI9fxAzGB+XdLzfCMD2cs="

    @Test func parseAndTextRoundTrip() throws {
        let verifier = try #require(ScramVerifier(parsing: Self.reference))
        #expect(verifier.iterations == 4096)
        #expect(verifier.salt == Array(0..<16))
        #expect(verifier.text == Self.reference)
        #expect(StoredSecret(parsing: Self.reference) == .scramSHA256(verifier))
    }

    @Test func makeVerifierMatchesReference() {
        let made = ScramServer.makeVerifier(password: "sluice-secret", salt: Array(0..<16), iterations: 4096)
        #expect(made.text == Self.reference)
    }

    @Test(arguments: [
        "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$SiInJNBnA2axDHNzyTfg78nv4egML8dNnBIBGdg7oDc=",
        "SCRAM-SHA-256$0:AAECAwQFBgcICQoLDA0ODw==$SiInJNBnA2axDHNzyTfg78nv4egML8dNnBIBGdg7oDc=:1h80zZA7+BPT/mrLPLsbSNiI9fxAzGB+XdLzfCMD2cs=",
        "SCRAM-SHA-256$9999999999:AAECAwQFBgcICQoLDA0ODw==$SiInJNBnA2axDHNzyTfg78nv4egML8dNnBIBGdg7oDc=:1h80zZA7+BPT/mrLPLsbSNiI9fxAzGB+XdLzfCMD2cs=",
        "SCRAM-SHA-256$4096:!!!$SiInJNBnA2axDHNzyTfg78nv4egML8dNnBIBGdg7oDc=:1h80zZA7+BPT/mrLPLsbSNiI9fxAzGB+XdLzfCMD2cs=",
        "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$AAAA:1h80zZA7+BPT/mrLPLsbSNiI9fxAzGB+XdLzfCMD2cs=",
        "SCRAM-SHA-1$4096:AAECAwQFBgcICQoLDA0ODw==$SiInJNBnA2axDHNzyTfg78nv4egML8dNnBIBGdg7oDc=:1h80zZA7+BPT/mrLPLsbSNiI9fxAzGB+XdLzfCMD2cs=",
    ])
    func rejectsMalformedVerifiers(_ text: String) {
        #expect(ScramVerifier(parsing: text) == nil)
        #expect(StoredSecret(parsing: text) == .plaintext(text))
    }
}
