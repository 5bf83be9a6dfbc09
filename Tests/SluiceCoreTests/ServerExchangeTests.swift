import Testing
import PostgresWire
@testable import SluiceCore

/// ServerExchange against the message sequences clients and PostgreSQL exchange, COPY's
/// corners above all: a server is settled exactly when PostgreSQL has nothing more to send.
@Suite struct ServerExchangeTests {
    private typealias F = FrontendMessageType

    /// Feeds client message types; returns what `clientSent` said of each.
    @discardableResult
    private func send(_ exchange: inout ServerExchange, _ types: [UInt8]) -> [Bool] {
        types.map { exchange.clientSent($0) }
    }

    private let extended: [UInt8] = [F.parse, F.bind, F.execute, F.sync]

    @Test func simpleQuery() {
        var exchange = ServerExchange()
        send(&exchange, [F.query])
        #expect(!exchange.isSettled)
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func extendedNeedsItsSync() {
        var exchange = ServerExchange()
        send(&exchange, [F.parse, F.bind, F.execute])
        #expect(!exchange.isSettled && exchange.awaitingReady == 0, "unsynced work")
        send(&exchange, [F.sync])
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func pipelineSettlesAtItsLastReadyForQuery() {
        var exchange = ServerExchange()
        send(&exchange, extended + extended + [F.query] + extended)
        #expect(exchange.awaitingReady == 4)
        for _ in 0..<3 {
            let wasLast = exchange.serverReady()
            #expect(!wasLast)
            #expect(!exchange.isSettled)
        }
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    /// tokio-postgres: Parse, Bind, Execute, Sync; then, after CopyInResponse, the data,
    /// CopyDone and a second Sync. PostgreSQL answers one ReadyForQuery.
    @Test func extendedCopyInWithTheSyncPostgresIgnores() {
        var exchange = ServerExchange()
        send(&exchange, extended)
        let ignored = exchange.serverStartedCopyIn()
        #expect(ignored == 1)
        #expect(exchange.copyingIn && !exchange.isSettled)
        #expect(send(&exchange, [F.copyData, F.sync, F.flush, F.copyData]) == [true, false, true, true], "Syncs in copy-in are ignored")
        send(&exchange, [F.copyDone])
        #expect(!exchange.isSettled, "a Sync must follow the data")
        send(&exchange, [F.sync])
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func extendedCopyInSentInOneGo() {
        var exchange = ServerExchange()
        send(&exchange, extended + [F.copyData, F.copyDone, F.sync])
        #expect(exchange.awaitingReady == 2)
        let ignored = exchange.serverStartedCopyIn()
        #expect(ignored == 1)
        #expect(!exchange.copyingIn && exchange.awaitingReady == 1)
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func extendedCopyEndedButNoSyncYet() {
        var exchange = ServerExchange()
        send(&exchange, extended + [F.copyData, F.copyDone])
        let ignored = exchange.serverStartedCopyIn()
        #expect(ignored == 1)
        #expect(!exchange.isSettled && exchange.unsynced)
        send(&exchange, [F.sync])
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func twoExtendedCopiesPipelined() {
        var exchange = ServerExchange()
        let copy = extended + [F.copyData, F.copyDone, F.sync]
        send(&exchange, copy + copy)
        #expect(exchange.awaitingReady == 4)
        let ignored = exchange.serverStartedCopyIn()
        #expect(ignored == 1)
        let wasLast = exchange.serverReady()
        #expect(!wasLast)
        let ignored2 = exchange.serverStartedCopyIn()
        #expect(ignored2 == 1)
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func queryBeforeAnExtendedCopy() {
        var exchange = ServerExchange()
        send(&exchange, [F.query] + extended)
        let wasLast = exchange.serverReady()
        #expect(!wasLast)
        let ignored = exchange.serverStartedCopyIn()
        #expect(ignored == 1)
        send(&exchange, [F.copyDone, F.sync])
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func simpleCopyIn() {
        var exchange = ServerExchange()
        send(&exchange, [F.query])
        let ignored = exchange.serverStartedCopyIn()
        #expect(ignored == 0)
        #expect(send(&exchange, [F.copyData, F.sync, F.copyDone]) == [true, false, true])
        #expect(!exchange.isSettled)
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func simpleCopyInWithASyncSentAhead() {
        var exchange = ServerExchange()
        send(&exchange, [F.query, F.sync, F.copyData, F.copyDone])
        let ignored = exchange.serverStartedCopyIn()
        #expect(ignored == 1)
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func extendedCopyFail() {
        var exchange = ServerExchange()
        send(&exchange, extended)
        _ = exchange.serverStartedCopyIn()
        send(&exchange, [F.copyData, F.copyFail])
        exchange.serverSentError()
        #expect(!exchange.isSettled)
        send(&exchange, [F.sync])
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    /// The server rejects the data midway: it leaves copy-in mode, skips to the client's Sync
    /// and drops the CopyDone that comes before it.
    @Test func errorDuringAnExtendedCopy() {
        var exchange = ServerExchange()
        send(&exchange, extended)
        _ = exchange.serverStartedCopyIn()
        send(&exchange, [F.copyData])
        exchange.serverSentError()
        #expect(!exchange.copyingIn && !exchange.isSettled)
        send(&exchange, [F.copyData, F.copyDone, F.sync])
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func errorDuringASimpleCopy() {
        var exchange = ServerExchange()
        send(&exchange, [F.query])
        _ = exchange.serverStartedCopyIn()
        exchange.serverSentError()
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
        // The rest of the client's data, which PostgreSQL drops.
        send(&exchange, [F.copyData, F.copyDone])
        #expect(exchange.isSettled)
    }

    /// A Sync skipped in copy-in, then an error: PostgreSQL may answer that Sync after all, so
    /// the server must never count as settled again (it is closed, not reused).
    @Test func aSkippedSyncThenAnErrorLosesTheCount() {
        var exchange = ServerExchange()
        send(&exchange, [F.query])
        _ = exchange.serverStartedCopyIn()
        send(&exchange, [F.copyData, F.sync, F.query])
        exchange.serverSentError()
        _ = exchange.serverReady()
        _ = exchange.serverReady()
        #expect(exchange.countLost && !exchange.isSettled)
    }

    @Test func copyOutCountsNothingSpecial() {
        var exchange = ServerExchange()
        send(&exchange, extended)
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func aStrayCopyDoneDoesNotMatchALaterCopy() {
        var exchange = ServerExchange()
        send(&exchange, [F.query, F.copyDone])
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
        send(&exchange, extended)
        let ignored = exchange.serverStartedCopyIn()
        #expect(ignored == 1)
        #expect(exchange.copyingIn, "the earlier CopyDone belonged to no COPY")
    }

    @Test func internalReadyForQueryWithNothingOwed() {
        var exchange = ServerExchange()
        let last = exchange.serverReady()
        #expect(last && exchange.isSettled)
    }

    @Test func pendingResponsesStrikeTheIgnoredSyncs() {
        var responses = PendingResponses()
        responses.sent(.plain)
        responses.sent(.sync)
        responses.sent(.sync)
        responses.strikeSyncs(1)
        _ = responses.received(BackendMessageType.copyInResponse)
        _ = responses.received(BackendMessageType.commandComplete)
        #expect(!responses.isEmpty)
        _ = responses.received(BackendMessageType.readyForQuery)
        #expect(responses.isEmpty)
    }
}

/// The CommandComplete tags that drop every prepared statement of a session.
@Suite struct StatementResetTests {
    @Test(arguments: [("DISCARD ALL", true), ("DEALLOCATE ALL", true), ("DEALLOCATE", false), ("DISCARD PLANS", false),
                      ("SELECT 1000", false), ("DELETE 1", false), ("", false)])
    func tags(tag: String, resets: Bool) {
        let body = Array(tag.utf8) + [0]
        #expect(StatementReset.isReset(count: body.count, byte: { body[$0] }) == resets)
    }
}
