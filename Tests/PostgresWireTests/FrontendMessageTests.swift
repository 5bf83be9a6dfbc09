import Testing
import PostgresWire

@Suite struct FrontendMessageTests {
    @Test func queryExactBytesAndRoundTrip() throws {
        let encoded = FrontendMessage.query("SELECT 1")
        #expect(encoded == [81, 0, 0, 0, 13] + cstr("SELECT 1"))
        let (type, body) = try split(encoded)
        #expect(type == FrontendMessageType.query)
        #expect(FrontendMessage.decodeQuery(body) == "SELECT 1")
        #expect(FrontendMessage.decodeQuery(try split(FrontendMessage.query("")).body) == "")
    }

    @Test func fixedMessages() {
        #expect(FrontendMessage.terminate == [88, 0, 0, 0, 4])
        #expect(FrontendMessage.sync == [83, 0, 0, 0, 4])
    }

    @Test func passwordExactBytesAndRoundTrip() throws {
        let encoded = FrontendMessage.password("md5abc")
        #expect(encoded == [112, 0, 0, 0, 11] + cstr("md5abc"))
        let (type, body) = try split(encoded)
        #expect(type == FrontendMessageType.password)
        #expect(FrontendMessage.decodePassword(body) == "md5abc")
    }

    @Test func passwordWithTrailingBytesIsRefused() {
        #expect(FrontendMessage.decodePassword(cstr("secret") + [1]) == nil)
        #expect(FrontendMessage.decodePassword(bytes("secret")) == nil)
        #expect(FrontendMessage.decodePassword([]) == nil)
        #expect(FrontendMessage.decodePassword([0]) == "")
    }

    @Test func saslInitialResponseExactBytesAndRoundTrip() throws {
        let data = bytes("n,,n=,r=abc")
        let encoded = FrontendMessage.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: data)
        #expect(encoded == [112, 0, 0, 0, 33] + cstr("SCRAM-SHA-256") + [0, 0, 0, 11] + data)
        let decoded = try #require(FrontendMessage.decodeSASLInitialResponse(try split(encoded).body))
        #expect(decoded.mechanism == "SCRAM-SHA-256")
        #expect(decoded.data == data)
    }

    @Test func saslInitialResponseWithoutData() throws {
        let minusOne = try #require(FrontendMessage.decodeSASLInitialResponse(cstr("X") + [0xFF, 0xFF, 0xFF, 0xFF]))
        #expect(minusOne.mechanism == "X")
        #expect(minusOne.data == [])
        let zero = try #require(FrontendMessage.decodeSASLInitialResponse(cstr("X") + [0, 0, 0, 0]))
        #expect(zero.data == [])
    }

    @Test func saslInitialResponseMalformed() {
        #expect(FrontendMessage.decodeSASLInitialResponse(cstr("X") + [0, 0, 0, 3, 1, 2]) == nil)      // short data
        #expect(FrontendMessage.decodeSASLInitialResponse(cstr("X") + [0, 0, 0, 1, 1, 2]) == nil)      // extra data
        #expect(FrontendMessage.decodeSASLInitialResponse(cstr("X") + [0xFF, 0xFF, 0xFF, 0xFE]) == nil) // negative
        #expect(FrontendMessage.decodeSASLInitialResponse(cstr("X") + [0, 0]) == nil)
        #expect(FrontendMessage.decodeSASLInitialResponse(bytes("X")) == nil)
    }

    @Test func saslResponseExactBytes() {
        #expect(FrontendMessage.saslResponse(bytes("c=biws")) == [112, 0, 0, 0, 10] + bytes("c=biws"))
        #expect(FrontendMessage.saslResponse([]) == [112, 0, 0, 0, 4])
    }

    @Test func copyFailExactBytes() {
        #expect(FrontendMessage.copyFail("no") == [102, 0, 0, 0, 7] + cstr("no"))
    }
}
