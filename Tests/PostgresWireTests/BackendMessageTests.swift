import Testing
import PostgresWire

@Suite struct BackendMessageTests {
    @Test func readyForQueryExactBytes() {
        #expect(BackendMessage.readyForQuery(.idle) == [90, 0, 0, 0, 5, 73])
        #expect(BackendMessage.readyForQuery(.inTransaction) == [90, 0, 0, 0, 5, 84])
        #expect(BackendMessage.readyForQuery(.failed) == [90, 0, 0, 0, 5, 69])
    }

    @Test(arguments: [TransactionStatus.idle, .inTransaction, .failed])
    func readyForQueryRoundTrip(status: TransactionStatus) throws {
        let (type, body) = try split(BackendMessage.readyForQuery(status))
        #expect(type == BackendMessageType.readyForQuery)
        #expect(BackendMessage.decodeReadyForQuery(body) == status)
    }

    @Test func readyForQueryMalformed() {
        #expect(BackendMessage.decodeReadyForQuery([]) == nil)
        #expect(BackendMessage.decodeReadyForQuery([UInt8(ascii: "X")]) == nil)
        #expect(BackendMessage.decodeReadyForQuery([73, 73]) == nil)
    }

    @Test func parameterStatusExactBytes() {
        #expect(BackendMessage.parameterStatus(name: "client_encoding", value: "UTF8")
            == [83, 0, 0, 0, 25] + cstr("client_encoding") + cstr("UTF8"))
        #expect(BackendMessage.parameterStatus(name: "a", value: "") == [83, 0, 0, 0, 7, 97, 0, 0])
    }

    @Test func parameterStatusRoundTrip() throws {
        let (type, body) = try split(BackendMessage.parameterStatus(name: "TimeZone", value: "Europe/Zürich"))
        #expect(type == BackendMessageType.parameterStatus)
        #expect(BackendMessage.decodeParameterStatus(body) == StartupParameter(name: "TimeZone", value: "Europe/Zürich"))
    }

    @Test func backendKeyDataExactBytesAndRoundTrip() throws {
        let key = BackendKey(processID: 4242, secretKey: -559_038_737)
        let encoded = BackendMessage.backendKeyData(key)
        #expect(encoded == [75, 0, 0, 0, 12, 0, 0, 0x10, 0x92, 0xDE, 0xAD, 0xBE, 0xEF])
        let (type, body) = try split(encoded)
        #expect(type == BackendMessageType.backendKeyData)
        #expect(BackendMessage.decodeBackendKeyData(body) == key)
    }

    @Test func negotiateProtocolVersionExactBytes() {
        #expect(BackendMessage.negotiateProtocolVersion(newestMinor: 0, unrecognizedOptions: [])
            == [118, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(BackendMessage.negotiateProtocolVersion(newestMinor: 0, unrecognizedOptions: ["_pq_.a", "_pq_.bc"])
            == [118, 0, 0, 0, 27, 0, 0, 0, 0, 0, 0, 0, 2] + cstr("_pq_.a") + cstr("_pq_.bc"))
    }

    @Test func messageTypeBytes() {
        #expect(BackendMessageType.authentication == 0x52)
        #expect(BackendMessageType.readyForQuery == 0x5A)
        #expect(BackendMessageType.errorResponse == 0x45)
        #expect(BackendMessageType.noticeResponse == 0x4E)
        #expect(BackendMessageType.negotiateProtocolVersion == 0x76)
        #expect(FrontendMessageType.password == 0x70)
        #expect(FrontendMessageType.terminate == 0x58)
        #expect(TransactionStatus(rawValue: UInt8(ascii: "T")) == .inTransaction)
    }
}

@Suite struct ResultSetTests {
    @Test func encodesDescriptionRowsAndTag() throws {
        var table = ResultSet([.init("name", .text), .init("count", .int4)])
        table.append(["a", "1"])
        table.append([nil, "2"])
        let bytes = table.encoded(tag: "SHOW")
        var messages: [(UInt8, [UInt8])] = []
        var rest = bytes[...]
        while rest.count >= 5 {
            let length = Int(rest[rest.startIndex + 1]) << 24 | Int(rest[rest.startIndex + 2]) << 16
                | Int(rest[rest.startIndex + 3]) << 8 | Int(rest[rest.startIndex + 4])
            messages.append((rest[rest.startIndex], Array(rest.dropFirst(5).prefix(length - 4))))
            rest = rest.dropFirst(1 + length)
        }
        #expect(messages.map { Character(UnicodeScalar($0.0)) } == ["T", "D", "D", "C"])
        #expect(BackendMessage.decodeDataRow(messages[1].1) == ["a", "1"])
        #expect(BackendMessage.decodeDataRow(messages[2].1) == [nil, "2"])
        #expect(messages[3].1 == Array("SHOW\0".utf8))
        var reader = MessageReader(messages[0].1)
        #expect(reader.int16() == 2)
        #expect(reader.cString() == "name")
        _ = reader.int32()
        _ = reader.int16()
        #expect(reader.int32() == 25)
    }
}
