import PostgresWire

/// Sends a pipeline again, once, when PostgreSQL refuses a shared statement whose plan went
/// stale although the client had just prepared it.
///
/// Clients that prepare the same text share one statement on each server. After DDL changes a
/// table, a client preparing that text afresh would get a fresh plan from PostgreSQL; with
/// Sluice its Parse may be answered from a server's older copy, and the Bind or Describe after
/// it fails with "cached plan must not change result type". So Sluice keeps the bytes it sent
/// since the server last had everything answered outside a transaction (up to `limit`). When
/// that error is the first answer, the pipeline's first request uses a statement the client
/// prepared in this pipeline and found on the server, and the pipeline holds exactly one Sync,
/// at its end (so nothing ran, and nothing else will answer after it), the error and its
/// ReadyForQuery are dropped and the same bytes go again behind a Close and a fresh Parse.
///
/// A statement the client prepared before the DDL still gets the error, as from PostgreSQL,
/// whose drivers then prepare it again.
public struct StaleStatementRetry: Sendable {
    /// The most a pipeline may hold and still be sent again.
    public static let limit = 8192

    /// What went to the server in this pipeline, while it may be sent again.
    public private(set) var sent: [UInt8] = []
    /// True while the server's answers must be watched: a pipeline that may be retried, or a
    /// retry under way. False for nearly every pipeline, so that they cost one check.
    public private(set) var isWatching = false
    /// Something went to the server since the last `restart`.
    private var started = false
    /// The pipeline began with a client's Parse that Sluice answered itself, and is recorded.
    private var recording = false
    /// The statement the client prepared in this pipeline that the server already had.
    private var keptBack: PreparedStatement?
    /// The statement the pipeline's first request used.
    private var firstUse: PreparedStatement?
    private var answered = false
    /// The statement to prepare again once the dropped error's ReadyForQuery comes.
    private var retrying: PreparedStatement?
    /// A Describe of the statement sent its ParameterDescription before failing.
    private var describedParameters = false
    /// The pipeline sent again starts with that Describe, whose ParameterDescription the
    /// client already has.
    public private(set) var repeatsParameterDescription = false

    /// The stale-plan error was dropped; its ReadyForQuery is next.
    public var awaitsReadyForQuery: Bool { retrying != nil }

    public init() {}

    /// The server has answered everything outside a transaction: the next bytes start a pipeline.
    public mutating func restart() {
        started = false
        guard recording || isWatching else { return }
        self = StaleStatementRetry(keepingCapacityOf: sent)
    }

    /// The pipeline cannot be sent again (inside a transaction, too large, or sent again
    /// already); only a repeated ParameterDescription may still need dropping.
    public mutating func stop() {
        guard recording || isWatching else {
            started = true
            return
        }
        let repeats = repeatsParameterDescription
        self = StaleStatementRetry(keepingCapacityOf: sent)
        started = true
        repeatsParameterDescription = repeats
        isWatching = repeats
    }

    private init(keepingCapacityOf buffer: [UInt8]) {
        sent = buffer
        sent.removeAll(keepingCapacity: true)
    }

    /// `count` bytes go to the server; `append` adds them to the given array. Only a pipeline
    /// that starts with a kept-back Parse is recorded: no other can be retried, so the common
    /// pipeline (Bind, Execute, Sync of a statement prepared earlier) copies nothing.
    public mutating func record(_ count: Int, _ append: (inout [UInt8]) -> Void) {
        started = true
        guard recording else { return }
        guard sent.count + count <= Self.limit else { return stop() }
        append(&sent)
    }

    /// The client's Parse of `statement` was answered by Sluice: the server has it.
    public mutating func clientPrepared(_ statement: PreparedStatement) {
        guard !started else { return }
        keptBack = statement
        recording = true
        isWatching = true
    }

    /// A Bind or Describe uses `statement`, which the server has.
    public mutating func uses(_ statement: PreparedStatement) {
        if recording && sent.isEmpty { firstUse = statement }
    }

    /// A message of `type` came from the server.
    public mutating func received(_ type: UInt8) {
        switch type {
        case BackendMessageType.noticeResponse, BackendMessageType.notificationResponse, BackendMessageType.parameterStatus:
            break
        case BackendMessageType.parameterDescription where !answered:
            // A Describe of a statement answers it before it finds the plan stale.
            describedParameters = true
        default:
            answered = true
        }
    }

    /// True when an ErrorResponse arriving now might be retried: worth reading it whole.
    public var mayRetry: Bool {
        recording && !answered && keptBack != nil && keptBack === firstUse
    }

    /// True when a message of `type` must be read whole: it may be dropped.
    public func wantsWhole(_ type: UInt8) -> Bool {
        switch type {
        case BackendMessageType.errorResponse: mayRetry
        case BackendMessageType.readyForQuery: awaitsReadyForQuery
        case BackendMessageType.parameterDescription: repeatsParameterDescription
        default: false
        }
    }

    /// True if `error`, arriving while `pending` waits, is the stale-plan error this handles:
    /// the caller drops it and, at the next ReadyForQuery, calls `takeRetry`.
    public mutating func retries(after error: ErrorFields?, pending: PendingResponses) -> Bool {
        guard mayRetry, let error, error.code == SQLState.featureNotSupported,
              error.routine == "RevalidateCachedQuery", pending.endsAtItsOnlySync else { return false }
        retrying = keptBack
        return true
    }

    /// The statement to prepare again and the pipeline to send after it, once.
    public mutating func takeRetry() -> (statement: PreparedStatement, pipeline: [UInt8])? {
        guard let retrying, recording else {
            stop()
            return nil
        }
        let pipeline = sent
        repeatsParameterDescription = describedParameters
        stop()
        return (retrying, pipeline)
    }

    /// The repeated ParameterDescription arrived (and is dropped).
    public mutating func skippedParameterDescription() {
        repeatsParameterDescription = false
        isWatching = awaitsReadyForQuery || recording
    }
}
