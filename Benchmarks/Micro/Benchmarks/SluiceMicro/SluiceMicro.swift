// Microbenchmarks of Sluice's per-message, per-login and per-transaction work.
//
//     Benchmarks/run-micro            (or, once the root exports the products:)
//     swift package --package-path Benchmarks/Micro benchmark
//
// Each benchmark's inner loop is one unit of work as the pooler does it per transaction or per
// login; `mallocCountTotal` shows allocations per unit, the figure the hot path should keep at 0.

import Benchmark
import Glibc
import PostgresWire
import SluiceAuth
import SluiceCore
import SluiceIO

// MARK: - Wire fixtures

/// A backend message: type, big-endian length that counts itself, body.
private func message(_ type: Character, _ body: [UInt8]) -> [UInt8] {
    let length = UInt32(body.count + 4)
    return [type.asciiValue!, UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16),
            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)] + body
}

private func cString(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }
private func int16(_ value: Int16) -> [UInt8] { [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)] }
private func int32(_ value: Int32) -> [UInt8] {
    let raw = UInt32(bitPattern: value)
    return [UInt8(raw >> 24), UInt8(truncatingIfNeeded: raw >> 16), UInt8(truncatingIfNeeded: raw >> 8), UInt8(truncatingIfNeeded: raw)]
}

/// PostgreSQL's reply to pgbench -S in simple mode: RowDescription, DataRow, CommandComplete,
/// ReadyForQuery (what Sluice forwards per transaction, looking only at 'Z').
private let simpleReply: [UInt8] =
    message("T", int16(1) + cString("abalance") + int32(16_384) + int16(3) + int32(23) + int16(4) + int32(-1) + int16(0))
    + message("D", int16(1) + int32(4) + Array("4711".utf8))
    + message("C", cString("SELECT 1"))
    + message("Z", [UInt8(ascii: "I")])

/// pgbench -S in extended mode from the client: Parse, Bind, Describe, Execute, Sync.
private let extendedRequest: [UInt8] =
    message("P", cString("") + cString("SELECT abalance FROM pgbench_accounts WHERE aid = $1;") + int16(0))
    + message("B", cString("") + cString("") + int16(0) + int16(1) + int32(5) + Array("77331".utf8) + int16(0))
    + message("D", [UInt8(ascii: "P")] + cString(""))
    + message("E", cString("") + int32(0))
    + message("S", [])

/// ...and the reply: ParseComplete, BindComplete, RowDescription, DataRow, CommandComplete, ReadyForQuery.
private let extendedReply: [UInt8] = message("1", []) + message("2", []) + simpleReply

private let startupPacket: [UInt8] = {
    var body = int32(196_608)
    for (name, value) in [("user", "bench"), ("database", "bench"), ("application_name", "pgbench"),
                          ("client_encoding", "UTF8"), ("DateStyle", "ISO, MDY")] {
        body += cString(name) + cString(value)
    }
    body += [0]
    return int32(Int32(body.count + 4)) + body
}()

private let errorBody: [UInt8] =
    [UInt8(ascii: "S")] + cString("ERROR") + [UInt8(ascii: "V")] + cString("ERROR")
    + [UInt8(ascii: "C")] + cString("42P01")
    + [UInt8(ascii: "M")] + cString("relation \"pgbench_acounts\" does not exist")
    + [UInt8(ascii: "P")] + cString("22") + [UInt8(ascii: "F")] + cString("parse_relation.c")
    + [UInt8(ascii: "L")] + cString("1392") + [UInt8(ascii: "R")] + cString("parserOpenTable") + [0]

/// An IOBuffer holding `bytes`, filled once; benchmarks copy from it with `append(from:)` (a memcpy)
/// so that the fill costs what a `read(2)` into the buffer would cost in user space: nothing.
private func source(_ bytes: [UInt8]) -> IOBuffer {
    let buffer = IOBuffer(capacity: 8192)
    buffer.append(bytes)
    return buffer
}

// MARK: - Header walk, as MessageStream.scan does it

/// MessageStream (SluiceServer) is internal, so this is its algorithm over the public IOBuffer:
/// walk 5-byte headers, copy out only the messages `wanted` selects, forward the rest in runs.
/// Returns the number of forwarded runs, so nothing is optimised away.
@inline(never)
private func walk(_ buffer: IOBuffer, wanted: UInt8, status: inout UInt8) -> Int {
    var offset = 0
    var runs = 0
    let readable = buffer.readableCount
    while readable - offset >= 5 {
        let type = buffer.byte(at: offset)
        let length = Int(buffer.uint32(at: offset + 1))
        if type == wanted {
            let body = buffer.copyBytes(at: offset + 5, count: length - 4)   // what MessageStream does for 'Z'
            status = body[0]
        }
        offset += 1 + length
    }
    if offset > 0 { runs += 1 }
    buffer.consume(offset)
    return runs
}

// MARK: - Benchmarks

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
        warmupIterations: 10,
        scalingFactor: .kilo,          // 1,000 units of work per sample; `--scale` prints per unit
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )
    let once = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
        warmupIterations: 3, scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 2_000
    )

    // --- framing and forwarding --------------------------------------------------------------

    Benchmark("Frame: header walk of a simple-query reply (T D C Z), copy out Z") { benchmark in
        let buffer = IOBuffer(capacity: 8192)
        let filled = source(simpleReply)
        var status: UInt8 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.append(from: filled, offset: 0, count: filled.readableCount)
            blackHole(walk(buffer, wanted: UInt8(ascii: "Z"), status: &status))
        }
        blackHole(status)
    }

    Benchmark("Frame: header walk of an extended-query reply (1 2 T D C Z), copy out Z") { benchmark in
        let buffer = IOBuffer(capacity: 8192)
        let filled = source(extendedReply)
        var status: UInt8 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.append(from: filled, offset: 0, count: filled.readableCount)
            blackHole(walk(buffer, wanted: UInt8(ascii: "Z"), status: &status))
        }
        blackHole(status)
    }

    Benchmark("Frame: header walk of an extended-query request (P B D E S)") { benchmark in
        let buffer = IOBuffer(capacity: 8192)
        let filled = source(extendedRequest)
        var status: UInt8 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.append(from: filled, offset: 0, count: filled.readableCount)
            blackHole(walk(buffer, wanted: UInt8(ascii: "X"), status: &status))
        }
    }

    Benchmark("Forward: IOBuffer append(from:) (memcpy) + consume of a simple-query reply") { benchmark in
        let filled = source(simpleReply)
        let sink = IOBuffer(capacity: 8192)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            sink.append(from: filled, offset: 0, count: filled.readableCount)
            sink.consume(sink.readableCount)
        }
        blackHole(sink.readableCount)
    }

    // Not on Sluice's forwarding path today (Connection.send(from:) writes from the read buffer),
    // but public: an unspecialised generic across the module boundary, byte by byte.
    Benchmark("IOBuffer.append(some Collection) of an 80-byte [UInt8] (generic byte loop)") { benchmark in
        let buffer = IOBuffer(capacity: 8192)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.append(simpleReply)
            buffer.consume(buffer.readableCount)
        }
        blackHole(buffer.readableCount)
    }

    // The relay's system calls per reply: read(2) from the server side, header walk, write(2) to
    // the client side, over AF_UNIX socketpairs (the benchmark also plays both peers, so the figure
    // holds 4 syscalls: the relay's 2 and the peers' 2). Loopback TCP costs more per call.
    Benchmark("Forward: socketpair relay of a simple-query reply (read, walk, write; 4 syscalls)") { benchmark in
        var serverSide: [Int32] = [0, 0]
        var clientSide: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &serverSide) == 0)
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &clientSide) == 0)
        defer { for fd in serverSide + clientSide { close(fd) } }
        let reply = source(simpleReply)
        let relay = IOBuffer(capacity: 8192)
        let sink = IOBuffer(capacity: 8192)
        var status: UInt8 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            _ = reply.write(to: serverSide[0])                 // PostgreSQL answers
            _ = relay.read(from: serverSide[1])                // the relay reads it...
            let count = relay.readableCount
            var offset = 0
            while count - offset >= 5 {
                let type = relay.byte(at: offset)
                let length = Int(relay.uint32(at: offset + 1))
                if type == UInt8(ascii: "Z") { status = relay.byte(at: offset + 5) }
                offset += 1 + length
            }
            _ = relay.write(to: clientSide[1], offset: 0, count: offset)   // ...and forwards it
            relay.consume(offset)
            _ = sink.read(from: clientSide[0])                 // the client reads it
            sink.clear()
        }
        blackHole(status)
    }

    Benchmark("Forward: BufferPool take + give") { benchmark in
        let pool = BufferPool(bufferSize: 4096)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let buffer = pool.take()
            blackHole(buffer.capacity)
            pool.give(buffer)
        }
    }

    Benchmark("Codec: StartupPacket.decode (5 parameters)") { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(StartupPacket.decode(startupPacket))
        }
    }

    Benchmark("Codec: ErrorFields(body:) of a 9-field ErrorResponse") { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(ErrorFields(body: errorBody))
        }
    }

    Benchmark("Codec: FrontendMessage.query (MessageWriter)") { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(FrontendMessage.query("SELECT abalance FROM pgbench_accounts WHERE aid = 77331;"))
        }
    }

    Benchmark("Codec: BackendMessage.decodeReadyForQuery") { benchmark in
        let body: [UInt8] = [UInt8(ascii: "T")]
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(BackendMessage.decodeReadyForQuery(body))
        }
    }

    // --- SCRAM ------------------------------------------------------------------------------

    let verifier = ScramServer.makeVerifier(password: "bench-password", salt: Array(repeating: 7, count: 16), iterations: 4096)
    let clientNonce = Array("clientnonceclientnonce12".utf8)
    let serverNonce = Array("servernonceservernonce34".utf8)

    Benchmark(
        "SCRAM: full exchange, client derives the password (4096 iterations)",
        configuration: once
    ) { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var client = ScramClient(credential: .password("bench-password"), clientNonce: clientNonce)
            var server = ScramServer(secret: .verifier(verifier), serverNonce: serverNonce)
            let serverFirst = try! server.receiveClientFirst(client.clientFirstMessage()).get()
            let clientFinal = try! client.receiveServerFirst(serverFirst).get()
            let serverFinal = try! server.receiveClientFinal(clientFinal).get()
            try! client.receiveServerFinal(serverFinal).get()
            blackHole(server.recoveredClientKey)
        }
    }

    // Sluice's own share of a client's SCRAM login: verify the proof (server side), then log in
    // to PostgreSQL with the recovered ClientKey (pass-through, no PBKDF2).
    // Client messages prepared once (the nonces are fixed, so the exchange replays exactly).
    var client = ScramClient(credential: .password("bench-password"), clientNonce: clientNonce)
    var probe = ScramServer(secret: .verifier(verifier), serverNonce: serverNonce)
    let clientFirst = client.clientFirstMessage()
    let clientFinal = try! client.receiveServerFirst(try! probe.receiveClientFirst(clientFirst).get()).get()
    _ = try! probe.receiveClientFinal(clientFinal).get()
    let clientKey = probe.recoveredClientKey!
    // PostgreSQL's side of the second exchange, prepared once.
    var upstreamProbe = ScramClient(credential: .clientKey(clientKey: clientKey, serverKey: verifier.serverKey), clientNonce: clientNonce)
    var postgres = ScramServer(secret: .verifier(verifier), serverNonce: serverNonce)
    let pgFirst = try! postgres.receiveClientFirst(upstreamProbe.clientFirstMessage()).get()
    let pgFinal = try! postgres.receiveClientFinal(try! upstreamProbe.receiveServerFirst(pgFirst).get()).get()

    // Sluice's own share of a client's SCRAM login: verify the proof (server side, no PBKDF2),
    // then log in to PostgreSQL with the recovered ClientKey (pass-through, no PBKDF2).
    Benchmark("SCRAM: Sluice's side of a login (ScramServer verify + pass-through ScramClient)") { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var server = ScramServer(secret: .verifier(verifier), serverNonce: serverNonce)
            _ = try! server.receiveClientFirst(clientFirst).get()
            _ = try! server.receiveClientFinal(clientFinal).get()
            var upstream = ScramClient(
                credential: .clientKey(clientKey: server.recoveredClientKey!, serverKey: verifier.serverKey),
                clientNonce: clientNonce
            )
            blackHole(upstream.clientFirstMessage())
            _ = try! upstream.receiveServerFirst(pgFirst).get()
            try! upstream.receiveServerFinal(pgFinal).get()
        }
    }

    Benchmark("SCRAM: PBKDF2-SHA-256, 4096 iterations (Crypto.pbkdf2SHA256)", configuration: once) { benchmark in
        let password = Array("bench-password".utf8)
        let salt = verifier.salt
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(Crypto.pbkdf2SHA256(password: password, salt: salt, iterations: 4096))
        }
    }

    // --- pool checkout and checkin -------------------------------------------------------------

    let key = PoolKey(database: "bench", user: "bench")

    /// A pool of 16 opened servers, all idle.
    func idlePool() -> (PoolManager, [ServerID]) {
        var manager = PoolManager()
        _ = manager.configure(key, limits: PoolLimits(poolSize: 16))
        var servers: [ServerID] = []
        for index in 0..<16 {
            _ = manager.request(ClientID(UInt64(index)), from: key)
        }
        for index in 0..<16 {
            let server = ServerID(UInt64(index))
            _ = manager.opened(server, in: key)
            servers.append(server)
        }
        for server in servers { _ = manager.release(server, reusable: true) }
        precondition(manager.idleServers(in: key).count == 16)
        return (manager, servers)
    }

    // MARK: Read/write routing

    let classifier = QueryRouteClassifier(writingFunctions: WritingFunctions(patterns: [
        "nextval", "setval", "currval", "lastval", "pg_advisory_*", "pg_try_advisory_*", "lo_*", "pg_notify", "set_config",
    ]))
    let ormQueries: [(String, String)] = [
        ("Django get by key", #"SELECT "notes_note"."id", "notes_note"."title", "notes_note"."body", "notes_note"."updated", "notes_note"."created" FROM "notes_note" WHERE "notes_note"."id" = 42 LIMIT 21"#),
        ("ActiveRecord join", #"SELECT "orders".* FROM "orders" INNER JOIN "customers" ON "customers"."id" = "orders"."customer_id" WHERE "customers"."email" = 'a@example.com' AND "orders"."state" IN ('paid', 'shipped') ORDER BY "orders"."created_at" DESC LIMIT 20 OFFSET 40"#),
        ("Django UPDATE", #"UPDATE "notes_note" SET "updated" = ("notes_note"."updated" + 1) WHERE "notes_note"."id" = 42"#),
    ]
    for (name, sql) in ormQueries {
        let text = Array(sql.utf8)
        Benchmark("Route: classify a \(text.count)-byte query (\(name))") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(classifier.route(text))
            }
        }
    }

    Benchmark("Pool: request + release, 16 idle servers (uncontended checkout/checkin)") { benchmark in
        var (manager, _) = idlePool()
        var client: UInt64 = 1000
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            client &+= 1
            let actions = manager.request(ClientID(client), from: key)
            guard case .assign(let server, _, _) = actions.first else { fatalError("no idle server") }
            blackHole(manager.release(server, reusable: true))
        }
    }

    for waiters in [240, 10_000] {
        // Every server busy, `waiters` clients in line; built once, copied into each sample.
        var (busy, servers) = idlePool()
        var firstClient: UInt64 = 1000
        for _ in 0..<(16 + waiters) {
            firstClient &+= 1
            _ = busy.request(ClientID(firstClient), from: key)
        }
        precondition(busy.waitingClients(in: key).count == waiters)
        let prepared = busy
        let lastPrepared = firstClient
        Benchmark("Pool: release hands over to a waiter + a new request queues, \(waiters) waiting") { benchmark in
            var manager = prepared
            var client = lastPrepared
            manager.withdraw(ClientID(0), from: key)   // unmeasured first write: the copy-on-write copy
            var index = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let server = servers[index & 15]
                index &+= 1
                blackHole(manager.release(server, reusable: true))
                client &+= 1
                blackHole(manager.request(ClientID(client), from: key))
            }
        }
    }
}
