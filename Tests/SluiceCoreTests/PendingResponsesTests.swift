import PostgresWire
import Testing
@testable import SluiceCore

/// The answers of a server matched to what was sent, message type by message type.
@Suite struct PendingResponsesTests {
    let statement = PreparedStatement(id: 1, definition: Array("SELECT 1\0\0\0".utf8))
    let plain = PendingResponses.Request.plain
    let parseComplete = ExtendedQueryMessage.parseComplete
    let closeComplete = ExtendedQueryMessage.closeComplete

    func type(_ character: Character) -> UInt8 { character.asciiValue! }

    /// Feeds the server's answers by type letter; returns what reached the client, as type letters.
    func answers(_ pending: inout PendingResponses, _ letters: String) -> (client: String, handlings: [PendingResponses.Handling]) {
        var client = ""
        var handlings: [PendingResponses.Handling] = []
        for letter in letters {
            let handling = pending.received(type(letter))
            handlings.append(handling)
            if handling.forward { client.append(letter) }
            for index in stride(from: 0, to: handling.synthetic.count, by: 5) {
                client.append(Character(UnicodeScalar(handling.synthetic[index])))
            }
        }
        return (client, handlings)
    }

    @Test func anAddedParseIsHiddenAndTheClientsAnswersPassInOrder() {
        var pending = PendingResponses()
        pending.sent(.answered(hidden: true, creates: statement, clientName: nil))  // Parse Sluice added
        pending.sent(plain)   // Bind
        pending.sent(plain)   // Execute
        pending.sent(.sync)
        #expect(answers(&pending, "12DDCZ").client == "2DDCZ")
        #expect(pending.isEmpty)
    }

    @Test func aKeptBackParseIsAnsweredWhereTheServerWouldHaveAnsweredIt() {
        var pending = PendingResponses()
        pending.sent(plain)   // Bind of an earlier statement
        pending.sent(plain)   // Execute
        #expect(pending.expect(parseComplete, undo: ClientNameUndo(name: "s2", previous: nil)) == nil, "the Bind and Execute are not answered yet")
        pending.sent(plain)   // Bind of s2
        pending.sent(.sync)
        #expect(answers(&pending, "2DC2Z").client == "2DC12Z")
    }

    @Test func withNothingUnansweredAKeptBackAnswerGoesAtOnce() {
        var pending = PendingResponses()
        #expect(pending.expect(closeComplete) == closeComplete)
        #expect(pending.isEmpty)
    }

    @Test func describingAStatementEndsAtItsRowDescription() {
        var pending = PendingResponses()
        pending.sent(plain)   // Describe statement: ParameterDescription, then RowDescription
        #expect(pending.expect(closeComplete) == nil)
        pending.sent(.sync)
        #expect(answers(&pending, "tTZ").client == "tT3Z")
    }

    @Test func anErrorSkipsToTheSyncAndUndoesWhatTheSkippedParsesWouldHaveMade() {
        let other = PreparedStatement(id: 2, definition: Array("SELECT 2\0\0\0".utf8))
        var pending = PendingResponses()
        pending.sent(.answered(hidden: false, creates: statement, clientName: "first"))  // fails
        #expect(pending.expect(parseComplete, undo: ClientNameUndo(name: "kept back", previous: nil)) == nil)
        pending.sent(.answered(hidden: true, creates: other, clientName: nil))  // skipped
        #expect(pending.expect(closeComplete, undo: ClientNameUndo(name: "closed", previous: statement)) == nil)
        pending.sent(plain)   // Bind, skipped
        pending.sent(.sync)
        pending.sent(plain)   // after the Sync: answered again
        pending.sent(.sync)
        let result = answers(&pending, "EZ2Z")
        #expect(result.client == "EZ2Z")
        #expect(result.handlings[0].notCreated.map(\.serverName) == ["sluice_1", "sluice_2"])
        #expect(result.handlings[0].clientNamesUndone == [ClientNameUndo(name: "first", previous: nil),
                                                          ClientNameUndo(name: "kept back", previous: nil),
                                                          ClientNameUndo(name: "closed", previous: statement)])
        #expect(pending.isEmpty)
    }

    @Test func anErrorInsideAQueryDoesNotSkipAnything() {
        var pending = PendingResponses()
        pending.sent(.query)
        pending.sent(.answered(hidden: true, creates: statement, clientName: nil))
        pending.sent(.sync)
        let result = answers(&pending, "EZ1Z")
        #expect(result.client == "EZZ")
        #expect(result.handlings.allSatisfy { $0.notCreated.isEmpty })
    }

    @Test func anErrorAtTheSyncItselfIsPassedOn() {
        var pending = PendingResponses()
        pending.sent(plain)
        pending.sent(.sync)
        // A deferred constraint failing at the implicit commit: ErrorResponse, then ReadyForQuery.
        #expect(answers(&pending, "CEZ").client == "CEZ")
        #expect(pending.isEmpty)
    }

    @Test func noticesAndParameterChangesBelongToNoRequest() {
        var pending = PendingResponses()
        pending.sent(.answered(hidden: true, creates: statement, clientName: nil))
        pending.sent(.sync)
        #expect(answers(&pending, "NSA1Z").client == "NSAZ")
    }

    @Test func executeRunsUntilItsCompletionWhateverComesBetween() {
        var pending = PendingResponses()
        pending.sent(plain)   // Execute of COPY TO STDOUT
        #expect(pending.expect(parseComplete) == nil)
        pending.sent(.sync)
        #expect(answers(&pending, "HddcCZ").client == "HddcC1Z")
    }

    @Test func aSuspendedPortalCompletesItsExecute() {
        var pending = PendingResponses()
        pending.sent(plain)
        #expect(pending.expect(closeComplete) == nil)
        pending.sent(.sync)
        #expect(answers(&pending, "DDsZ").client == "DDs3Z")
    }

    @Test func aRewrittenQueryHidesSluicesCompletionsAndForwardsTheRest() {
        var pending = PendingResponses()
        pending.sent(.rewrittenQuery(RewrittenQuery(hiddenCompletions: 1, creates: statement)))
        let (client, handlings) = answers(&pending, "CTDCZ")
        #expect(client == "TDCZ")
        #expect(handlings.allSatisfy { $0.notCreated.isEmpty })
        #expect(pending.isEmpty)
    }

    @Test func anErrorInARewrittenQueryUndoesWhatItsPrepareWouldHaveMade() {
        let undo = ClientNameUndo(name: "q", previous: nil, isSQL: true)
        // DEALLOCATE sluice_1; PREPARE sluice_1 ...: the PREPARE fails after the DEALLOCATE ran.
        var afterDrop = PendingResponses()
        afterDrop.sent(.rewrittenQuery(RewrittenQuery(hiddenCompletions: 1, creates: statement, createdAfter: 1, undo: undo)))
        let failedPrepare = answers(&afterDrop, "CEZ")
        #expect(failedPrepare.client == "EZ")
        #expect(failedPrepare.handlings[1].notCreated == [statement])
        #expect(failedPrepare.handlings[1].clientNamesUndone == [undo])
        // The DEALLOCATE itself fails (a failed transaction): the server keeps the statement.
        var beforeDrop = PendingResponses()
        beforeDrop.sent(.rewrittenQuery(RewrittenQuery(hiddenCompletions: 1, creates: statement, createdAfter: 1, undo: undo)))
        let failedDrop = answers(&beforeDrop, "EZ")
        #expect(failedDrop.client == "EZ")
        #expect(failedDrop.handlings[0].notCreated.isEmpty)
        #expect(failedDrop.handlings[0].clientNamesUndone == [undo])
        // PREPARE sluice_1 ...; EXECUTE sluice_1: the EXECUTE fails, the statement stands.
        var execute = PendingResponses()
        execute.sent(.rewrittenQuery(RewrittenQuery(hiddenCompletions: 1, creates: statement)))
        #expect(answers(&execute, "CEZ").handlings[1].notCreated.isEmpty)
    }
}

@Suite struct PreparedStatementCacheTests {
    func statement(_ id: Int) -> PreparedStatement { PreparedStatement(id: id, definition: Array("SELECT \(id)\0\0\0".utf8)) }

    @Test func theRegistryGivesOneStatementPerDefinition() {
        var registry = StatementRegistry()
        let definition = Array("SELECT $1\0\0\u{1}\0\0\0\u{17}".utf8)
        let first = registry.statement(for: definition)
        #expect(registry.statement(for: definition) === first)
        #expect(registry.statement(for: Array("SELECT 2\0\0\0".utf8)) !== first)
        #expect(first.serverName == "sluice_1")
        #expect(registry.statement(for: definition, sql: true) !== first, "SQL-level text is another statement")
    }

    @Test func aFullRegistryStartsAfreshWithNewNames() {
        var registry = StatementRegistry(limit: 2)
        let a = registry.statement(for: [1])
        _ = registry.statement(for: [2])
        let again = registry.statement(for: [1])
        #expect(again === a)
        _ = registry.statement(for: [3])
        #expect(registry.statement(for: [1]).serverName != a.serverName)
    }

    @Test func theLeastRecentlyUsedIsEvicted() {
        var cache = ServerStatementCache(capacity: 2)
        let (one, two, three) = (statement(1), statement(2), statement(3))
        let (first, second) = (cache.insert(one), cache.insert(two))
        #expect(first == nil && second == nil)
        let usedOne = cache.use(one)
        #expect(usedOne)
        let evicted = cache.insert(three)
        #expect(evicted === two)
        let (hasTwo, hasOne, hasThree) = (cache.use(two), cache.use(one), cache.use(three))
        #expect(!hasTwo && hasOne && hasThree)
        #expect(cache.count == 2)
    }

    @Test func removedStatementsAreGone() {
        var cache = ServerStatementCache(capacity: 4)
        let (one, two) = (statement(1), statement(2))
        _ = cache.insert(one)
        _ = cache.insert(two)
        cache.remove(one)
        let (hasOne, hasTwo) = (cache.use(one), cache.use(two))
        #expect(!hasOne && hasTwo)
        cache.removeAll()
        let stillTwo = cache.use(two)
        #expect(!stillTwo && cache.count == 0)
    }
}
