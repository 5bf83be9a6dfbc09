import Testing
import PostgresWire
import SluiceAuth
@testable import SluiceCore

@Suite struct ClientLoginStartupTests {
    private let any = policy(.any)

    @Test func sslAndGSSRequestsAreDeclinedAndStartupFollows() {
        var login = ClientLogin(any)
        #expect(login.receive(.sslRequest) == [.send([UInt8(ascii: "N")])])
        #expect(login.expectsStartupPacket)
        #expect(login.receive(.gssEncRequest) == [.send([78])])
        #expect(login.expectsStartupPacket)
        #expect(login.receive(startup(["user": "u"])) == succeeded(identity("u")))
        #expect(!login.expectsStartupPacket)
    }

    @Test func cancelRequest() {
        var login = ClientLogin(any)
        let key = BackendKey(processID: 7, secretKey: -9)
        #expect(login.receive(.cancel(key)) == [.cancel(key)])
        #expect(!login.expectsStartupPacket)
    }

    @Test func missingUser() {
        var login = ClientLogin(any)
        let expected = ClientLogin.Action.reject(ErrorFields(code: "28000", message: "no PostgreSQL user name specified in startup packet"))
        #expect(login.receive(startup(["database": "db"])) == [expected])
        var empty = ClientLogin(any)
        #expect(empty.receive(startup(["user": "", "database": "db"])) == [expected])
        #expect(!empty.expectsStartupPacket)
    }

    @Test func unsupportedStartupParameterIsNamed() {
        var login = ClientLogin(any)
        #expect(login.receive(startup(["user": "u", "work_mem": "1GB"]))
            == [.reject(ErrorFields(code: "08P01", message: "unsupported startup parameter: work_mem"))])
        #expect(!login.expectsStartupPacket)
    }

    /// `options` (PGOPTIONS, Django's OPTIONS): tracked settings as startup parameters.
    @Test func optionsSetTrackedParameters() {
        var login = ClientLogin(any)
        #expect(login.receive(startup(["user": "u", "options": "-c search_path=app,\\ public  --application-name=web -cTimeZone=UTC"]))
            == succeeded(identity("u", parameters: [
                StartupParameter(name: "search_path", value: "app, public"),
                StartupParameter(name: "application_name", value: "web"),
                StartupParameter(name: "TimeZone", value: "UTC"),
            ])))
    }

    @Test func aStartupParameterWinsOverTheSameInOptions() {
        var login = ClientLogin(any)
        #expect(login.receive(startup(["user": "u", "options": "-c application_name=from-options", "application_name": "psql"]))
            == succeeded(identity("u", parameters: [StartupParameter(name: "application_name", value: "psql")])))
    }

    @Test func optionsSettingAnUntrackedParameterIsRefused() {
        var login = ClientLogin(any)
        #expect(login.receive(startup(["user": "u", "options": "-c work_mem=1GB"]))
            == [.reject(ErrorFields(code: "08P01", message: "unsupported startup parameter in options: work_mem"))])
        var ignoring = ClientLogin(policy(.any, ignored: ["work_mem"]))
        #expect(ignoring.receive(startup(["user": "u", "options": "-c work_mem=1GB -c search_path=s"]))
            == succeeded(identity("u", parameters: [StartupParameter(name: "search_path", value: "s")])))
    }

    @Test(arguments: ["-d 5", "-c", "-c =x", "--noequals", "plain"])
    func otherArgumentsInOptionsAreRefused(options: String) {
        var login = ClientLogin(any)
        #expect(login.receive(startup(["user": "u", "options": options]))
            == [.reject(ErrorFields(code: "08P01", message: "unsupported options startup parameter: only '-c config=val' and '--config=val' are allowed"))])
    }

    /// User pgbouncer on the Unix socket from Sluice's own OS user: the console, no password.
    @Test func theOwnerEntersTheConsoleWithoutAPassword() {
        var owner = policy(.scramSHA256)
        owner.peerIsOwner = true
        var login = ClientLogin(owner)
        var console = identity("pgbouncer", "pgbouncer")
        console.isConsoleOwner = true
        #expect(login.receive(startup(["user": "pgbouncer", "database": "pgbouncer"])) == succeeded(console))
        // Another database, another user, or another OS user: the usual password.
        for (user, database, isOwner) in [("pgbouncer", "app", true), ("app", "pgbouncer", true), ("pgbouncer", "pgbouncer", false)] {
            var rule = policy(.scramSHA256)
            rule.peerIsOwner = isOwner
            var other = ClientLogin(rule)
            let actions = other.receive(startup(["user": user, "database": database]))
            #expect(!actions.contains { if case .authenticated = $0 { true } else { false } }, "\(user)@\(database) owner=\(isOwner)")
        }
    }

    @Test func ignoredParametersAreDropped() {
        var login = ClientLogin(policy(.any, ignored: ["extra_float_digits", "options"]))
        var other = ClientLogin(policy(.any, ignored: ["options"]))
        #expect(other.receive(startup(["user": "u", "options": "-B 100"])) == succeeded(identity("u")), "ignored, not refused")
        #expect(login.receive(startup(["user": "u", "extra_float_digits": "2", "Options": "-c x=1", "application_name": "psql"]))
            == succeeded(identity("u", parameters: [StartupParameter(name: "application_name", value: "psql")])))
    }

    @Test func trackedParametersAreCanonicalAndInClientOrder() {
        var login = ClientLogin(policy(.any, extra: ["work_mem"]))
        let actions = login.receive(startup([
            "datestyle": "ISO", "user": "u", "TIMEZONE": "UTC", "client_encoding": "UTF8",
            "WORK_MEM": "4MB", "database": "shop", "DateStyle": "German",
        ]))
        #expect(actions == succeeded(identity("u", "shop", parameters: [
            StartupParameter(name: "TimeZone", value: "UTC"),
            StartupParameter(name: "client_encoding", value: "UTF8"),
            StartupParameter(name: "work_mem", value: "4MB"),
            StartupParameter(name: "DateStyle", value: "German"),
        ])))
    }

    @Test func databaseDefaultsToUser() {
        var login = ClientLogin(any)
        #expect(login.receive(startup(["user": "alice"])) == succeeded(identity("alice", "alice")))
        var explicit = ClientLogin(any)
        #expect(explicit.receive(startup(["user": "alice", "database": ""])) == succeeded(identity("alice", "alice")))
    }

    @Test func protocol31NegotiatesFirst() {
        var login = ClientLogin(any)
        #expect(login.receive(startup(["user": "u"], minor: 1))
            == [.send(BackendMessage.negotiateProtocolVersion(newestMinor: 0, unrecognizedOptions: []))] + succeeded(identity("u")))
    }

    @Test func protocolOptionsNegotiateFirst() {
        var login = ClientLogin(policy(.md5, users: ["u": .plaintext("pw")]))
        let actions = login.receive(startup(["_pq_.compression": "on", "user": "u", "_pq_.other": "1"]))
        #expect(actions == [
            .send([118, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 2] + bytes("_pq_.compression\0_pq_.other\0")),
            .send(AuthenticationRequest.md5Password(salt: fixedSalt).encoded),
        ])
    }

    @Test func terminateDuringLogin() throws {
        var login = ClientLogin(policy(.plain, users: ["u": .plaintext("pw")]))
        #expect(login.receive(startup(["user": "u"])) == [.send(AuthenticationRequest.cleartextPassword.encoded)])
        #expect(try login.feed(FrontendMessage.terminate) == [])
        // Nothing is accepted afterwards, not even the right password.
        #expect(try login.feed(FrontendMessage.password("pw"))
            == [.reject(ErrorFields(code: "08P01", message: "unexpected password response"))])
    }

    @Test func nonPasswordMessageDuringLogin() throws {
        var login = ClientLogin(policy(.plain, users: ["u": .plaintext("pw")]))
        _ = login.receive(startup(["user": "u"]))
        #expect(try login.feed(FrontendMessage.query("SELECT 1"))
            == [.reject(ErrorFields(code: "08P01", message: "expected password response, got message type Q"))])
        #expect(try login.feed(FrontendMessage.password("pw"))
            == [.reject(ErrorFields(code: "08P01", message: "unexpected password response"))])
    }

    @Test func passwordBeforeStartup() throws {
        var login = ClientLogin(any)
        #expect(try login.feed(FrontendMessage.password("pw"))
            == [.reject(ErrorFields(code: "08P01", message: "unexpected password response"))])
    }

    @Test func secondStartupPacket() {
        var login = ClientLogin(policy(.plain, users: ["u": .plaintext("pw")]))
        _ = login.receive(startup(["user": "u"]))
        #expect(login.receive(startup(["user": "u"]))
            == [.reject(ErrorFields(code: "08P01", message: "unexpected startup packet"))])
    }

    @Test func malformedPasswordPacket() {
        var login = ClientLogin(policy(.plain, users: ["u": .plaintext("pw")]))
        _ = login.receive(startup(["user": "u"]))
        #expect(login.receive(type: FrontendMessageType.password, body: bytes("pw"))
            == [.reject(ErrorFields(code: "08P01", message: "invalid password packet"))])
    }
}
