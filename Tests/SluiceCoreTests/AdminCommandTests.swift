import Testing
@testable import SluiceCore

@Suite struct AdminCommandTests {
    @Test func commandsAsPgBouncerReadsThem() {
        #expect(AdminCommand("show pools;") == .show("POOLS"))
        #expect(AdminCommand("  SHOW   Clients ") == .show("CLIENTS"))
        #expect(AdminCommand("RELOAD") == .reload)
        #expect(AdminCommand("shutdown;") == .shutdown)
        #expect(AdminCommand("KILL_CLIENT C-12") == .killClient("C-12"))
        #expect(AdminCommand("pause") == .pause(database: nil))
        #expect(AdminCommand("PAUSE app;") == .pause(database: "app"))
        #expect(AdminCommand("resume app") == .resume(database: "app"))
    }

    @Test func anythingElseIsNoCommand() {
        #expect(AdminCommand("") == nil)
        #expect(AdminCommand("SHOW") == nil)
        #expect(AdminCommand("RELOAD now") == nil)
        #expect(AdminCommand("SELECT 1") == nil)
        #expect(AdminCommand("SHOW POOLS; SHOW USERS") == nil)
    }
}
