import Testing
@testable import SluiceCore

@Suite struct HostCacheTests {
    @Test func anAnswerServesUntilItExpires() {
        var cache = HostCache()
        cache.store(.addresses(["10.0.0.7"]), for: "db.example", until: 15)
        #expect(cache.answer(for: "db.example", now: 14.9) == .addresses(["10.0.0.7"]))
        #expect(cache.answer(for: "db.example", now: 15) == nil)
        #expect(cache.answer(for: "other.example", now: 0) == nil)
        cache.store(.failure("Name or service not known"), for: "gone.example", until: 30)
        #expect(cache.answer(for: "gone.example", now: 20) == .failure("Name or service not known"))
        cache.removeExpired(now: 20)
        #expect(Array(cache.entries.keys) == ["gone.example"])
    }

    @Test func hostsFileMapsNamesToAddressesInOrder() {
        let parsed = HostsFile.parse("""
            # test resolver
            127.0.0.2   db.failover.test  DB   # the new primary
            127.0.0.3\tdb.failover.test
            ::1 v6.test
            127.0.0.2 db.failover.test
            lonely-address
            """)
        #expect(parsed["db.failover.test"] == ["127.0.0.2", "127.0.0.3"])
        #expect(parsed["db"] == ["127.0.0.2"], "names compare without case")
        #expect(parsed["v6.test"] == ["::1"])
        #expect(parsed.count == 3)
    }
}
