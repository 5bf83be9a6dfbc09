// A libFuzzer target for what Sluice decodes from untrusted peers: startup packets, the
// bodies of the messages it reads, and SQL text for routing and SQL-level PREPARE. Built by
// `Fuzz/run` with `swiftc -sanitize=fuzzer,address` from the decoders' own source files.
//
// The first byte of an input picks the decoder; the rest is its input. Any crash, trap or
// sanitizer report is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: start + 1, count: count - 1))
    switch start[0] % 10 {
    case 0:
        if case .packet(_, let consumed) = StartupPacket.decode(input) { precondition(consumed <= input.count) }
    case 1: _ = ErrorFields(body: input)
    case 2: _ = AuthenticationRequest(body: input)
    case 3: _ = BackendMessage.decodeDataRow(input)
    case 4: _ = BackendMessage.decodeParameterStatus(input)
    case 5:
        _ = FrontendMessage.decodeQuery(input)
        _ = FrontendMessage.decodePassword(input)
        _ = FrontendMessage.decodeSASLInitialResponse(input)
    case 6:
        _ = ExtendedQueryMessage.decodeParse(input)
        _ = ExtendedQueryMessage.decodeTarget(input)
    case 7:
        var lexer = SQLLexer(input)
        while let token = lexer.next() {
            precondition(token.range.lowerBound >= 0 && token.range.upperBound <= input.count)
            _ = lexer.identifier(token)
        }
    case 8: _ = classifier.route(input)
    default: _ = SQLPreparedCommand(input)
    }
    return 0
}

private let classifier = QueryRouteClassifier(writingFunctions: WritingFunctions(patterns: ["nextval", "pg_advisory_*"]))
