import Testing
import SluiceAuth

@Suite struct MD5PasswordTests {
    // Expected values computed with Python's hashlib.md5.
    @Test func storedHash() {
        #expect(MD5Password.hash(password: "password", user: "user") == "md54d45974e13472b5a0be3533de4666414")
        #expect(MD5Password.hash(password: "secret", user: "postgres") == "md553f48b7c4b76a86ce72276c5755f217d")
    }

    @Test func saltedResponse() {
        let salt: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        #expect(MD5Password.response(storedHash: "md553f48b7c4b76a86ce72276c5755f217d", salt: salt)
            == "md5c546d0bbed2af888b328536b45c76348")
        #expect(MD5Password.response(storedHash: "md54d45974e13472b5a0be3533de4666414", salt: [1, 2, 3, 4])
            == "md5a3576f1ae039b8996bc4fc2720f9c71a")
    }

    @Test func verifyPlaintextAndMD5Secrets() {
        let salt: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        let answer = "md5c546d0bbed2af888b328536b45c76348"
        #expect(MD5Password.verify(clientResponse: answer, secret: .plaintext("secret"), user: "postgres", salt: salt))
        #expect(MD5Password.verify(clientResponse: answer, secret: StoredSecret(parsing: "md553f48b7c4b76a86ce72276c5755f217d"),
                                   user: "postgres", salt: salt))
    }

    @Test func verifyRejectsWrongAnswers() {
        let salt: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        let wrongPassword = MD5Password.response(storedHash: MD5Password.hash(password: "Secret", user: "postgres"), salt: salt)
        #expect(!MD5Password.verify(clientResponse: wrongPassword, secret: .plaintext("secret"), user: "postgres", salt: salt))
        #expect(!MD5Password.verify(clientResponse: "md5c546d0bbed2af888b328536b45c76348", secret: .plaintext("secret"),
                                    user: "postgres", salt: [0xDE, 0xAD, 0xBE, 0xEE]))
        #expect(!MD5Password.verify(clientResponse: "md5c546d0bbed2af888b328536b45c76348", secret: .plaintext("secret"),
                                    user: "other", salt: salt))
        #expect(!MD5Password.verify(clientResponse: "", secret: .md5("md553f48b7c4b76a86ce72276c5755f217d"),
                                    user: "postgres", salt: salt))
        let verifier = ScramServer.makeVerifier(password: "secret", salt: [1, 2, 3], iterations: 1)
        #expect(!MD5Password.verify(clientResponse: "md5c546d0bbed2af888b328536b45c76348", secret: .scramSHA256(verifier),
                                    user: "postgres", salt: salt))
    }
}
