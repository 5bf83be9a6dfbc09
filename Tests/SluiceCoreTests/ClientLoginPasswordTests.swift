import Testing
import PostgresWire
import SluiceAuth
@testable import SluiceCore

/// trust, any, plain and md5 logins, each succeeding and failing.
@Suite struct ClientLoginPasswordTests {
    private let users: [String: StoredSecret] = [
        "plainuser": .plaintext("s3cret"),
        "md5user": .md5(MD5Password.hash(password: "hunter2", user: "md5user")),
        "scramuser": .scramSHA256(ScramServer.makeVerifier(password: "pencil", salt: bytes("saltsaltsalt"), iterations: 4096)),
    ]

    @Test func trustWithUserlistAcceptsListedUser() {
        var login = ClientLogin(policy(.trust, users: users))
        #expect(login.receive(startup(["user": "plainuser", "database": "db"])) == succeeded(identity("plainuser", "db")))
    }

    @Test func trustWithUserlistRejectsUnlistedUser() {
        var login = ClientLogin(policy(.trust, users: users))
        #expect(login.receive(startup(["user": "nobody"])) == [passwordFailed("nobody")])
    }

    @Test func trustWithoutUserlistAcceptsAnyone() {
        var login = ClientLogin(policy(.trust, hasUserlist: false))
        #expect(login.receive(startup(["user": "nobody"])) == succeeded(identity("nobody")))
    }

    @Test func anyIgnoresTheUserlist() {
        var login = ClientLogin(policy(.any, users: users))
        #expect(login.receive(startup(["user": "nobody", "database": "x"])) == succeeded(identity("nobody", "x")))
    }

    @Test(arguments: [("plainuser", "s3cret"), ("md5user", "hunter2"), ("scramuser", "pencil")])
    func plainSucceeds(user: String, password: String) throws {
        var login = ClientLogin(policy(.plain, users: users))
        #expect(login.receive(startup(["user": user])) == [.send([82, 0, 0, 0, 8, 0, 0, 0, 3])])
        #expect(try login.feed(FrontendMessage.password(password)) == succeeded(identity(user)))
    }

    @Test(arguments: [("plainuser", "S3cret"), ("md5user", "hunter"), ("scramuser", "pencil "), ("nobody", "s3cret"),
                      ("plainuser", "")])
    func plainFails(user: String, password: String) throws {
        var login = ClientLogin(policy(.plain, users: users))
        _ = login.receive(startup(["user": user]))
        #expect(try login.feed(FrontendMessage.password(password)) == [passwordFailed(user)])
    }

    @Test func md5WithPlaintextSecret() throws {
        var login = ClientLogin(policy(.md5, users: users))
        #expect(login.receive(startup(["user": "plainuser", "application_name": "app"]))
            == [.send([82, 0, 0, 0, 12, 0, 0, 0, 5] + fixedSalt)])
        let response = MD5Password.response(storedHash: MD5Password.hash(password: "s3cret", user: "plainuser"), salt: fixedSalt)
        // Computed by hand: "md5" + md5(md5(password + user) + salt).
        let manual = "md5" + Crypto.md5Hex(bytes(Crypto.md5Hex(bytes("s3cretplainuser"))) + fixedSalt)
        #expect(response == manual)
        #expect(try login.feed(FrontendMessage.password(response))
            == succeeded(identity("plainuser", parameters: [StartupParameter(name: "application_name", value: "app")])))
    }

    @Test func md5WithMD5Secret() throws {
        var login = ClientLogin(policy(.md5, users: users))
        #expect(login.receive(startup(["user": "md5user"])) == [.send(AuthenticationRequest.md5Password(salt: fixedSalt).encoded)])
        let response = MD5Password.response(storedHash: MD5Password.hash(password: "hunter2", user: "md5user"), salt: fixedSalt)
        #expect(try login.feed(FrontendMessage.password(response)) == succeeded(identity("md5user")))
    }

    @Test(arguments: ["plainuser", "md5user"])
    func md5WrongPassword(user: String) throws {
        var login = ClientLogin(policy(.md5, users: users))
        _ = login.receive(startup(["user": user]))
        let response = MD5Password.response(storedHash: MD5Password.hash(password: "wrong", user: user), salt: fixedSalt)
        #expect(try login.feed(FrontendMessage.password(response)) == [passwordFailed(user)])
    }

    @Test func md5ResponseForAnotherSaltFails() throws {
        var login = ClientLogin(policy(.md5, users: users))
        _ = login.receive(startup(["user": "md5user"]))
        let response = MD5Password.response(storedHash: MD5Password.hash(password: "hunter2", user: "md5user"), salt: [1, 2, 3, 4])
        #expect(try login.feed(FrontendMessage.password(response)) == [passwordFailed("md5user")])
    }

    @Test func md5CleartextAnswerFails() throws {
        var login = ClientLogin(policy(.md5, users: users))
        _ = login.receive(startup(["user": "plainuser"]))
        #expect(try login.feed(FrontendMessage.password("s3cret")) == [passwordFailed("plainuser")])
    }

    @Test func md5UnknownUserLooksLikeWrongPassword() throws {
        var unknown = ClientLogin(policy(.md5, users: users))
        var wrong = ClientLogin(policy(.md5, users: users))
        // The same challenge for both...
        #expect(unknown.receive(startup(["user": "nobody"])) == [.send(AuthenticationRequest.md5Password(salt: fixedSalt).encoded)])
        #expect(wrong.receive(startup(["user": "md5user"])) == [.send(AuthenticationRequest.md5Password(salt: fixedSalt).encoded)])
        // ...and the same failure.
        let answer = MD5Password.response(storedHash: MD5Password.hash(password: "x", user: "u"), salt: fixedSalt)
        #expect(try unknown.feed(FrontendMessage.password(answer)) == [passwordFailed("nobody")])
        #expect(try wrong.feed(FrontendMessage.password(answer)) == [passwordFailed("md5user")])
    }

    @Test func plainUnknownUserLooksLikeWrongPassword() throws {
        var login = ClientLogin(policy(.plain, users: users))
        #expect(login.receive(startup(["user": "nobody"])) == [.send(AuthenticationRequest.cleartextPassword.encoded)])
        #expect(try login.feed(FrontendMessage.password("anything")) == [passwordFailed("nobody")])
    }

    @Test func verdictIsFinal() throws {
        var login = ClientLogin(policy(.plain, users: users))
        _ = login.receive(startup(["user": "plainuser"]))
        #expect(try login.feed(FrontendMessage.password("wrong")) == [passwordFailed("plainuser")])
        #expect(try login.feed(FrontendMessage.password("s3cret"))
            == [.reject(ErrorFields(code: "08P01", message: "unexpected password response"))])
    }
}
