import Testing
@testable import PostgresWire

@Suite struct ExtendedQueryMessageTests {
    @Test func parseKeepsTheDefinitionBytesAfterTheName() throws {
        let message = ExtendedQueryMessage.parse(name: "s1", definition: Array("SELECT $1\0".utf8) + [0, 1, 0, 0, 0, 23])
        let (type, body) = try split(message)
        #expect(type == FrontendMessageType.parse)
        let decoded = try #require(ExtendedQueryMessage.decodeParse(body))
        #expect(decoded.name == "s1")
        #expect(Array(decoded.definition) == Array("SELECT $1\0".utf8) + [0, 1, 0, 0, 0, 23])
        let renamed = ExtendedQueryMessage.parse(name: "sluice_7", definition: decoded.definition)
        #expect(try ExtendedQueryMessage.decodeParse(split(renamed).body)?.name == "sluice_7")
    }

    @Test func describeAndCloseNameAStatementOrAPortal() throws {
        let (type, body) = try split(ExtendedQueryMessage.closeStatement("s1"))
        #expect(type == FrontendMessageType.close)
        #expect(ExtendedQueryMessage.decodeTarget(body)?.kind == ExtendedQueryMessage.statementKind)
        #expect(ExtendedQueryMessage.decodeTarget(body)?.name == "s1")
        #expect(try ExtendedQueryMessage.decodeTarget(split(ExtendedQueryMessage.describeStatement("")).body)?.name == "")
        #expect(ExtendedQueryMessage.decodeTarget([UInt8(ascii: "S"), 65]) == nil, "no terminator")
        #expect(ExtendedQueryMessage.decodeTarget([UInt8(ascii: "S"), 65, 0, 66, 0]) == nil, "bytes after the name")
    }

    @Test func aBindPrefixRenamesTheStatementAndKeepsTheLengthRight() throws {
        // Bind: portal "p", statement "s1", then parameters that stay as they are.
        let rest: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 2, 52, 50, 0, 0]
        let original = [FrontendMessageType.bind] + bigEndian(4 + 2 + 3 + rest.count) + Array("p\0s1\0".utf8) + rest
        let prefix = ExtendedQueryMessage.bindPrefix(length: 4 + 2 + 3 + rest.count, portal: Array("p".utf8), oldNameLength: 2,
                                                     statement: "sluice_12")
        let rewritten = prefix + rest
        let (type, body) = try split(rewritten)
        #expect(type == FrontendMessageType.bind)
        #expect(body == Array("p\0sluice_12\0".utf8) + rest)
        #expect(original.count - rewritten.count == 2 - 9)
    }

    func bigEndian(_ value: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}
