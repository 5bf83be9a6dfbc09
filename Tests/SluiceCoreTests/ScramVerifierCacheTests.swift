import PostgresWire
import SluiceAuth
import Synchronization
import Testing
@testable import SluiceCore

@Suite struct ScramVerifierCacheTests {
    /// Counts derivations; each derived verifier gets a distinct salt so reuse is visible.
    final class CountingDeriver: Sendable {
        let count = Mutex(0)
        func derive(_ password: String) -> ScramVerifier {
            let n = count.withLock { value -> Int in
                value += 1
                return value
            }
            return ScramServer.makeVerifier(password: password, salt: [UInt8(n), 1, 2, 3], iterations: 16)
        }
    }

    @Test func samePasswordReusesTheVerifier() {
        let deriver = CountingDeriver()
        let cache = ScramVerifierCache(derive: deriver.derive)
        let first = cache.verifier(user: "app", password: "secret")
        let second = cache.verifier(user: "app", password: "secret")
        #expect(first == second)
        #expect(deriver.count.withLock { $0 } == 1)
        #expect(first == ScramServer.makeVerifier(password: "secret", salt: [1, 1, 2, 3], iterations: 16))
    }

    @Test func changedPasswordOrOtherUserDerivesAgain() {
        let deriver = CountingDeriver()
        let cache = ScramVerifierCache(derive: deriver.derive)
        let old = cache.verifier(user: "app", password: "old")
        let new = cache.verifier(user: "app", password: "new")
        _ = cache.verifier(user: "other", password: "new")
        #expect(old != new)
        #expect(new == ScramServer.makeVerifier(password: "new", salt: [2, 1, 2, 3], iterations: 16))
        #expect(deriver.count.withLock { $0 } == 3)
    }

    @Test func loginAgainstAPlaintextSecretUsesTheCachedVerifier() throws {
        let deriver = CountingDeriver()
        let cache = ScramVerifierCache(derive: deriver.derive)
        for _ in 0..<2 {
            let policy = ClientLoginPolicy(
                authType: .scramSHA256, hasUserlist: true, secret: { _ in .plaintext("pencil") },
                ignoredStartupParameters: [], trackedParameters: TrackedParameters(), mockKey: [1, 2, 3],
                verifierForPassword: { cache.verifier(user: $0, password: $1) })
            var login = ClientLogin(policy: policy, random: { [UInt8](repeating: 7, count: $0) })
            _ = login.receive(.startup(majorVersion: 3, minorVersion: 0,
                                       parameters: [.init(name: "user", value: "user"), .init(name: "database", value: "db")]))
            var client = ScramClient(credential: .password("pencil"), clientNonce: Array("clientnonce".utf8))
            let first = try login.feed(FrontendMessage.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: client.clientFirstMessage()))
            guard case .send(let challenge)? = first.first,
                  case .saslContinue(let serverFirst)? = AuthenticationRequest(body: Array(challenge.dropFirst(5))),
                  case .success(let final) = client.receiveServerFirst(serverFirst) else {
                Issue.record("no SCRAM challenge: \(first)")
                return
            }
            let outcome = try login.feed(FrontendMessage.saslResponse(final))
            #expect(outcome.contains { if case .authenticated = $0 { true } else { false } }, "\(outcome)")
        }
        #expect(deriver.count.withLock { $0 } == 1, "two logins, one PBKDF2 derivation")
    }
}
