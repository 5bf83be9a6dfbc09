import Testing
@testable import SluiceCore

@Suite struct AdminCommandTests {
    @Test func commandsAsPgBouncerReadsThem() {
        #expect(AdminCommand("show pools;") == .show("POOLS"))
        #expect(AdminCommand("  SHOW   Clients ") == .show("CLIENTS"))
        #expect(AdminCommand("RELOAD") == .reload)
        #expect(AdminCommand("shutdown;") == .shutdown(.immediate))
        #expect(AdminCommand("SHUTDOWN wait_for_servers") == .shutdown(.waitForServers))
        #expect(AdminCommand("SHUTDOWN WAIT_FOR_CLIENTS;") == .shutdown(.waitForClients))
        #expect(AdminCommand("KILL_CLIENT C-12") == .killClient("C-12"))
        #expect(AdminCommand("pause") == .pause(database: nil))
        #expect(AdminCommand("PAUSE app;") == .pause(database: "app"))
        #expect(AdminCommand("resume app") == .resume(database: "app"))
        #expect(AdminCommand("KILL") == .kill(database: nil))
        #expect(AdminCommand("kill app") == .kill(database: "app"))
        #expect(AdminCommand("DISABLE app") == .disable(database: "app"))
        #expect(AdminCommand("enable app;") == .enable(database: "app"))
        #expect(AdminCommand("RECONNECT") == .reconnect(database: nil))
        #expect(AdminCommand("reconnect app") == .reconnect(database: "app"))
        #expect(AdminCommand("WAIT_CLOSE") == .waitClose(database: nil))
        #expect(AdminCommand("wait_close app") == .waitClose(database: "app"))
    }

    @Test func setTakesAKeyAndAValueBareOrQuoted() {
        #expect(AdminCommand("SET default_pool_size = 40") == .set(key: "default_pool_size", value: "40"))
        #expect(AdminCommand("set Query_Timeout=5;") == .set(key: "query_timeout", value: "5"))
        #expect(AdminCommand("SET server_reset_query = 'DISCARD ALL'") == .set(key: "server_reset_query", value: "DISCARD ALL"))
        #expect(AdminCommand("SET application_name_add_host TO 1") == .set(key: "application_name_add_host", value: "1"))
        #expect(AdminCommand("SET ignore_startup_parameters = 'it''s'") == .set(key: "ignore_startup_parameters", value: "it's"))
        #expect(AdminCommand("SET stats_users = ''") == .set(key: "stats_users", value: ""))
        #expect(AdminCommand("SET = 5") == nil)
        #expect(AdminCommand("SET two words = 5") == nil)
        #expect(AdminCommand("SET key = 'unterminated") == nil)
    }

    @Test func anythingElseIsNoCommand() {
        #expect(AdminCommand("") == nil)
        #expect(AdminCommand("SHOW") == nil)
        #expect(AdminCommand("RELOAD now") == nil)
        #expect(AdminCommand("SHUTDOWN later") == nil)
        #expect(AdminCommand("DISABLE") == nil)
        #expect(AdminCommand("KILL a b") == nil)
        #expect(AdminCommand("SELECT 1") == nil)
        #expect(AdminCommand("SHOW POOLS; SHOW USERS") == nil)
    }
}
