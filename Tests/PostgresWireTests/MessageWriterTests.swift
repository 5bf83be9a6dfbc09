import Testing
import PostgresWire

@Suite struct MessageWriterTests {
    @Test func integersAreBigEndian() {
        var writer = MessageWriter()
        writer.int8(0xAB)
        writer.int16(0x0102)
        writer.int16(-2)
        writer.int32(0x0102_0304)
        writer.int32(-1)
        writer.int32(Int32.min)
        #expect(writer.bytes == [0xAB, 1, 2, 0xFF, 0xFE, 1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0, 0, 0])
    }

    @Test func cStringAppendsTerminatorAndDropsInnerNUL() {
        var writer = MessageWriter()
        writer.cString("ab")
        writer.cString("")
        writer.cString("x\u{0}y")
        writer.cString("é")
        #expect(writer.bytes == [97, 98, 0, 0, 120, 121, 0, 0xC3, 0xA9, 0])
    }

    @Test func typedMessageLengthCountsItselfButNotType() {
        var writer = MessageWriter()
        writer.message(UInt8(ascii: "Q")) { $0.cString("SELECT 1") }
        #expect(writer.bytes == [81, 0, 0, 0, 13] + bytes("SELECT 1") + [0])
    }

    @Test func untypedPacketHasNoTypeByte() {
        var writer = MessageWriter()
        writer.message(nil) { $0.int32(80_877_103) }
        #expect(writer.bytes == [0, 0, 0, 8, 4, 210, 22, 47])
    }

    @Test func emptyBodyHasLengthFour() {
        var writer = MessageWriter()
        writer.message(UInt8(ascii: "S")) { _ in }
        #expect(writer.bytes == [83, 0, 0, 0, 4])
    }

    @Test func consecutiveMessagesEachGetTheirOwnLength() {
        var writer = MessageWriter()
        writer.message(UInt8(ascii: "a")) { $0.raw([1, 2, 3]) }
        writer.message(UInt8(ascii: "b")) { $0.raw([]) }
        writer.begin(UInt8(ascii: "c"))
        writer.int16(7)
        writer.finish()
        #expect(writer.bytes == [97, 0, 0, 0, 7, 1, 2, 3, 98, 0, 0, 0, 4, 99, 0, 0, 0, 6, 0, 7])
    }

    @Test func largeBodyLengthUsesAllFourBytes() {
        var writer = MessageWriter()
        writer.message(UInt8(ascii: "d")) { $0.raw([UInt8](repeating: 7, count: 0x0102_03)) }
        #expect(Array(writer.bytes[0..<5]) == [100, 0, 1, 2, 7])
        #expect(writer.bytes.count == 0x0102_03 + 5)
    }
}

@Suite struct MessageReaderTests {
    @Test func readsWhatTheWriterWrote() throws {
        var writer = MessageWriter()
        writer.int8(9)
        writer.int16(-300)
        writer.int32(-70_000)
        writer.cString("héllo")
        writer.raw([1, 2, 3])
        writer.int32(Int32.max)
        var reader = MessageReader(writer.bytes)
        #expect(reader.int8() == 9)
        #expect(reader.int16() == -300)
        #expect(reader.int32() == -70_000)
        #expect(reader.cString() == "héllo")
        #expect(reader.bytes(count: 3) == [1, 2, 3])
        #expect(reader.remaining == 4)
        #expect(reader.int32() == Int32.max)
        #expect(reader.remaining == 0)
        #expect(reader.int8() == nil)
    }

    @Test func readsPastTheEndReturnNilAndDoNotMove() {
        var reader = MessageReader([1, 2, 3])
        #expect(reader.int32() == nil)
        #expect(reader.offset == 0)
        #expect(reader.int16() == 0x0102)
        #expect(reader.int16() == nil)
        #expect(reader.bytes(count: 2) == nil)
        #expect(reader.offset == 2)
        #expect(reader.cString() == nil)
        #expect(reader.offset == 2)
        #expect(reader.int8() == 3)
        #expect(reader.cString() == nil)
        #expect(reader.bytes(count: 0) == [])
        #expect(reader.rest() == [])
    }

    @Test func negativeCountIsRefused() {
        var reader = MessageReader([1, 2])
        #expect(reader.bytes(count: -1) == nil)
        #expect(reader.offset == 0)
    }

    @Test func cStringStopsAtFirstNUL() {
        var reader = MessageReader([97, 0, 0, 98, 0])
        #expect(reader.cString() == "a")
        #expect(reader.cString() == "")
        #expect(reader.cString() == "b")
        #expect(reader.cString() == nil)
    }

    @Test func invalidUTF8IsRepairedNotFatal() {
        var reader = MessageReader([0xFF, 0x41, 0])
        #expect(reader.cString() == "\u{FFFD}A")
        #expect(reader.remaining == 0)
    }

    @Test func startingOffsetAndRest() {
        var reader = MessageReader([1, 2, 3, 4, 5], offset: 2)
        #expect(reader.remaining == 3)
        #expect(reader.rest() == [3, 4, 5])
        #expect(reader.offset == 5)
        #expect(reader.remaining == 0)
    }

    @Test func bigEndianUInt32() {
        #expect(UInt32(bigEndianBytes: [0xDE, 0xAD, 0xBE, 0xEF], at: 0) == 0xDEAD_BEEF)
        #expect(UInt32(bigEndianBytes: [9, 0, 0, 1, 0], at: 1) == 256)
        #expect(UInt32(bigEndianBytes: [9, 9, 0, 0, 1, 0][2...], at: 0) == 256)
    }
}
