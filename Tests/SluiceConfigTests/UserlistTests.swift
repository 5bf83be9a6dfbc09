import SluiceAuth
import Testing
@testable import SluiceConfig

@Suite struct UserlistTests {
    private let verifier = ScramVerifier(
        iterations: 4096, salt: Array(1...16), storedKey: Array(repeating: 7, count: 32),
        serverKey: Array(repeating: 9, count: 32))

    @Test func allThreeSecretFormsCommentsAndExtraFields() {
        let md5 = "md5" + String(repeating: "ab", count: 16)
        let (secrets, errors) = UserlistParser.parse(text: """
            ; comment
            # another

              "alice" "plain pass"
            "bob"  "\(md5)" extra "fields" ignored
            "carol" "\(verifier.text)"
            """, path: "/etc/userlist.txt")
        #expect(errors == [])
        #expect(secrets == [
            "alice": .plaintext("plain pass"),
            "bob": .md5(md5),
            "carol": .scramSHA256(verifier),
        ])
    }

    @Test func doubledQuotesAreLiteralQuotes() {
        let (secrets, errors) = UserlistParser.parse(text: #""we""ird" "pa""ss""#, path: "u")
        #expect(errors == [])
        #expect(secrets == [#"we"ird"#: .plaintext(#"pa"ss"#)])
    }

    @Test func emptySecretAndLaterDuplicateWins() {
        let (secrets, _) = UserlistParser.parse(text: "\"a\" \"\"\n\"b\" \"1\"\n\"b\" \"2\"", path: "u")
        #expect(secrets == ["a": .plaintext(""), "b": .plaintext("2")])
    }

    @Test func malformedLinesAreErrorsWithFileAndLine() {
        let (secrets, errors) = UserlistParser.parse(text: """
            "ok" "fine"
            alice "secret"
            "bob"
            "carol" secret
            "dave" "unterminated
            "" "x"
            "eve
            """, path: "/etc/userlist.txt")
        #expect(secrets == ["ok": .plaintext("fine")])
        #expect(errors.map(\.line) == [2, 3, 4, 5, 6, 7])
        #expect(errors.allSatisfy { $0.file == "/etc/userlist.txt" && $0.severity == .error })
        #expect(errors[0].description == "/etc/userlist.txt:2: expected a double-quoted user name")
        #expect(errors[1].description == #"/etc/userlist.txt:3: expected a double-quoted secret after user "bob""#)
    }
}
