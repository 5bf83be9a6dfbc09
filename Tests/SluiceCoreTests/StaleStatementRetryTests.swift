import PostgresWire
import Testing
@testable import SluiceCore

/// When a pipeline may be sent again after a stale shared plan, and what is sent.
@Suite struct StaleStatementRetryTests {
    let statement = PreparedStatement(id: 1, definition: Array("SELECT * FROM t\0\0\0".utf8))
    let pipeline: [UInt8] = Array("bind-execute-sync".utf8)

    var staleError: ErrorFields {
        var error = ErrorFields(severity: "ERROR", code: SQLState.featureNotSupported, message: "cached plan must not change result type")
        error.routine = "RevalidateCachedQuery"
        return error
    }

    /// Bind, Execute and Sync wait for their answers.
    var waiting: PendingResponses {
        var pending = PendingResponses()
        pending.sent(.plain)
        pending.sent(.plain)
        pending.sent(.sync)
        return pending
    }

    /// A client Parse Sluice answered itself, then a Bind of it: the pipeline of the retry case.
    func keptBackParseThenUse() -> StaleStatementRetry {
        var retry = StaleStatementRetry()
        retry.clientPrepared(statement)
        retry.uses(statement)
        retry.record(pipeline.count) { $0 += pipeline }
        return retry
    }

    @Test func theStaleErrorOnAFreshParseIsRetriedWithThePipeline() throws {
        var retry = keptBackParseThenUse()
        #expect(retry.mayRetry)
        let retried1 = retry.retries(after: staleError, pending: waiting)
        #expect(retried1)
        #expect(retry.awaitsReadyForQuery)
        let taken = retry.takeRetry()
        let (again, bytes) = try #require(taken)
        #expect(again === statement)
        #expect(bytes == pipeline)
        #expect(!retry.mayRetry)
        let second = retry.takeRetry()
        #expect(second == nil, "only once")
    }

    @Test func aStatementPreparedInAnEarlierPipelineIsNotRetried() {
        var retry = StaleStatementRetry()
        retry.uses(statement)
        retry.record(pipeline.count) { $0 += pipeline }
        #expect(retry.sent.isEmpty && !retry.isWatching, "nothing is copied or watched")
        #expect(!retry.mayRetry)
        let retried2 = retry.retries(after: staleError, pending: waiting)
        #expect(!retried2)
    }

    @Test func anotherErrorOrAnotherRoutineIsNotRetried() {
        var retry = keptBackParseThenUse()
        var other = staleError
        other.routine = "exec_bind_message"
        let retried3 = retry.retries(after: other, pending: waiting)
        #expect(!retried3)
        let syntax = ErrorFields(severity: "ERROR", code: "42601", message: "syntax error")
        let retried4 = retry.retries(after: syntax, pending: waiting)
        #expect(!retried4)
    }

    @Test func aPipelineWithTwoSyncsOrAnAnswerAlreadyGivenIsNotRetried() {
        var retry = keptBackParseThenUse()
        var twoSyncs = waiting
        twoSyncs.sent(.plain)
        twoSyncs.sent(.sync)
        let retried5 = retry.retries(after: staleError, pending: twoSyncs)
        #expect(!retried5)
        var withQuery = PendingResponses()
        withQuery.sent(.plain)
        withQuery.sent(.query)
        withQuery.sent(.sync)
        #expect(!withQuery.endsAtItsOnlySync)
        var answered = keptBackParseThenUse()
        answered.received(BackendMessageType.bindComplete)
        #expect(!answered.mayRetry)
    }

    @Test func aDescribesParameterDescriptionIsNotAnAnswerButIsRepeatedOnce() {
        var retry = keptBackParseThenUse()
        retry.received(BackendMessageType.noticeResponse)
        retry.received(BackendMessageType.parameterDescription)
        let retried6 = retry.retries(after: staleError, pending: waiting)
        #expect(retried6)
        _ = retry.takeRetry()
        #expect(retry.repeatsParameterDescription)
        retry.skippedParameterDescription()
        #expect(!retry.repeatsParameterDescription)
    }

    @Test func aPipelineLargerThanTheLimitCannotBeSentAgain() {
        var retry = keptBackParseThenUse()
        retry.record(StaleStatementRetry.limit) { $0 += [UInt8](repeating: 0, count: StaleStatementRetry.limit) }
        #expect(retry.sent.isEmpty)
        #expect(!retry.mayRetry)
        retry.restart()
        retry.clientPrepared(statement)
        #expect(retry.isWatching, "the next pipeline may be retried again")
    }

    @Test func aResentPipelineWaitsBehindTheAddedRequests() {
        var pending = waiting
        #expect(pending.endsAtItsOnlySync)
        pending.resend(behind: [.answered(hidden: true, creates: nil, clientName: nil),
                                .answered(hidden: true, creates: statement, clientName: nil)])
        #expect(pending.endsAtItsOnlySync)
        var client = ""
        for letter in "312CZ" {
            if pending.received(letter.asciiValue!).forward { client.append(letter) }
        }
        #expect(client == "2CZ")
        #expect(pending.isEmpty)
    }
}
