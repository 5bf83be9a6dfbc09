import PostgresWire

/// What a server linked to a client still owes it, from the messages that passed each way,
/// sans I/O: the Queries and Syncs whose ReadyForQuery has not come, extended-protocol
/// messages not yet followed by a Sync, and COPY FROM STDIN in progress. A server may go back
/// to its pool only when it owes nothing (`isSettled`) outside a transaction.
///
/// COPY is where counting messages alone goes wrong: PostgreSQL ignores every Sync (and
/// Flush) it receives in copy-in mode, so a client that sends Parse, Bind, Execute, Sync for
/// `COPY ... FROM STDIN`, then CopyData, CopyDone and Sync (as tokio-postgres and others do)
/// gets one ReadyForQuery for two Syncs. The requests still owed are kept in order, with the
/// client's CopyDone and CopyFail among them, so that when CopyInResponse arrives the Syncs
/// the server is ignoring (those between the COPY and the end of its data) are known and
/// struck out.
public struct ServerExchange: Sendable {
    /// One thing the client sent that matters to the count, in order.
    enum Entry: UInt8, Sendable {
        /// Query or FunctionCall: answered up to ReadyForQuery.
        case query
        /// Sync: answered by ReadyForQuery, unless the server is in copy-in mode.
        case sync
        /// CopyDone or CopyFail sent before the server's CopyInResponse was seen.
        case copyEnd
    }

    /// Consecutive equal entries, so the usual single Query or Sync costs one slot and a long
    /// pipeline of Syncs no more.
    struct Run: Sendable {
        var entry: Entry
        var count: Int
    }

    /// The oldest entries not yet answered, kept inline: usually the only ones (one Query, or
    /// one pipeline of Syncs), so the common transaction touches no array.
    private var oldest = Run(entry: .sync, count: 0)
    /// The entries after `oldest`, in order; empty unless COPY or a mixed pipeline is under way.
    private var later: [Run] = []
    /// Queries and Syncs whose ReadyForQuery has not come.
    public private(set) var awaitingReady = 0
    /// Extended-protocol messages went since the last Sync the server will act on.
    public private(set) var unsynced = false
    /// The server is in copy-in mode and the client has not ended its data yet: its Syncs
    /// are ignored until its CopyDone or CopyFail.
    public private(set) var copyingIn = false
    /// The COPY in progress was started by an extended-protocol Execute, so a Sync must follow
    /// the end of its data.
    private var copyInExtended = false
    /// A Sync was skipped as ignored during copy-in: if the COPY then fails, PostgreSQL may
    /// answer it after all, so the count can no longer be trusted.
    private var skippedSyncInCopy = false
    /// The count was lost (see `skippedSyncInCopy`): the server is never settled again, so it
    /// is closed rather than reused when its client leaves.
    public private(set) var countLost = false

    public init() {}

    /// Owes nothing: every request answered, no unsynced extended messages, no COPY data due.
    @inline(__always)
    public var isSettled: Bool { awaitingReady == 0 && !unsynced && !copyingIn && !countLost }

    /// A client message of `type` went to the server. Returns false for a Sync the server will
    /// ignore (sent during copy-in), which therefore gets no ReadyForQuery.
    @discardableResult
    public mutating func clientSent(_ type: UInt8) -> Bool {
        switch type {
        case FrontendMessageType.query, FrontendMessageType.functionCall:
            append(.query)
        case FrontendMessageType.sync:
            guard !copyingIn else {
                skippedSyncInCopy = true
                return false
            }
            append(.sync)
            unsynced = false
        case FrontendMessageType.parse, FrontendMessageType.bind, FrontendMessageType.describe,
             FrontendMessageType.execute, FrontendMessageType.close, FrontendMessageType.flush:
            if !copyingIn { unsynced = true }
        case FrontendMessageType.copyDone, FrontendMessageType.copyFail:
            if copyingIn {
                copyingIn = false
                if copyInExtended { unsynced = true }
            } else if awaitingReady > 0 {
                // Sent ahead of the CopyInResponse (or after a COPY failed, when the server
                // drops it; `serverStartedCopyIn` never matches it then).
                append(.copyEnd)
            }
        default:
            break
        }
        return true
    }

    /// The server sent CopyInResponse: the oldest request owed runs a COPY FROM STDIN. The
    /// Syncs after it up to the client's end of data are struck out; returns how many, so that
    /// what else counts requests (`PendingResponses`) can strike them too.
    public mutating func serverStartedCopyIn() -> Int {
        guard oldest.count > 0 else { return 0 }
        var runs = [oldest] + later
        let extended = runs[0].entry == .sync
        // The COPY's own request stays owed when it is a Query; with the extended protocol it
        // is the Sync after the Execute, which the server ignores like the others.
        var kept = extended ? 0 : 1
        var ignored = 0
        var index = 0
        while index < runs.count, runs[index].entry != .copyEnd {
            let count = runs[index].count
            if runs[index].entry == .sync {
                let struck = count - min(kept, count)
                ignored += struck
                runs[index].count -= struck
            } else {
                kept = max(0, kept - count)
            }
            index += 1
        }
        awaitingReady -= ignored
        if index < runs.count {
            // The client already ended its data: that CopyDone or CopyFail is this COPY's.
            runs[index].count -= 1
            let syncFollows = runs[(index + 1)...].contains { $0.entry == .sync && $0.count > 0 }
            if extended && !syncFollows { unsynced = true }
        } else {
            copyingIn = true
            copyInExtended = extended
            if extended { unsynced = true }
        }
        oldest = runs[0]
        later = Array(runs.dropFirst().filter { $0.count > 0 })
        dropSpent()
        return ignored
    }

    /// The server sent ErrorResponse. In copy-in mode it has left it: a simple-protocol COPY
    /// answers with ReadyForQuery next, an extended one skips to the next Sync.
    public mutating func serverSentError() {
        // A skipped Sync may reach a server that left copy-in on this error, and be answered.
        if skippedSyncInCopy { countLost = true }
        guard copyingIn else { return }
        copyingIn = false
        if copyInExtended { unsynced = true }
    }

    /// The server sent ReadyForQuery: the oldest Query or Sync owed is answered. Returns true
    /// when that was the last one owed.
    @discardableResult
    public mutating func serverReady() -> Bool {
        // A ReadyForQuery ends any copy-in mode (a simple-protocol COPY that failed).
        copyingIn = false
        guard awaitingReady > 0 else { return true }
        awaitingReady -= 1
        dropSpent()
        oldest.count -= 1
        if oldest.count == 0 { dropSpent() }
        if awaitingReady == 0 { skippedSyncInCopy = false }
        return awaitingReady == 0
    }

    @inline(__always)
    private mutating func append(_ entry: Entry) {
        if entry != .copyEnd { awaitingReady += 1 }
        if oldest.count == 0 {
            oldest = Run(entry: entry, count: 1)
        } else if later.isEmpty {
            if oldest.entry == entry && entry != .copyEnd { oldest.count += 1 } else { later.append(Run(entry: entry, count: 1)) }
        } else if later[later.count - 1].entry == entry && entry != .copyEnd {
            later[later.count - 1].count += 1
        } else {
            later.append(Run(entry: entry, count: 1))
        }
    }

    /// Moves the next run up while the oldest is spent, or is a copy end with nothing owed
    /// before it (it belongs to no COPY that can still start).
    private mutating func dropSpent() {
        while oldest.count == 0 || oldest.entry == .copyEnd {
            guard !later.isEmpty else {
                oldest.count = 0
                return
            }
            oldest = later.removeFirst()
        }
    }
}
