import Testing
import PostgresWire

@Suite struct StartupPacketInvalidTests {
    private let badLength = StartupPacket.DecodeResult.invalid("invalid length of startup packet")
    private let noTerminator = StartupPacket.DecodeResult.invalid("invalid startup packet layout: expected terminator as last byte")

    @Test(arguments: [0, 1, 4, 7])
    func lengthTooShort(length: Int32) {
        // Judged on the four length bytes alone: no need to wait for the rest.
        #expect(StartupPacket.decode(be32(length)) == badLength)
        #expect(StartupPacket.decode(be32(length) + [0, 3, 0, 0, 0]) == badLength)
    }

    @Test func lengthTooLong() {
        #expect(StartupPacket.decode(be32(Int32(StartupPacket.maximumLength + 1))) == badLength)
        #expect(StartupPacket.decode(be32(Int32.max)) == badLength)
        #expect(StartupPacket.decode(be32(Int32(-1))) == badLength)
        // An HTTP request or a typed message instead of a startup packet.
        #expect(StartupPacket.decode(bytes("GET / HTTP/1.1\r\n")) == badLength)
        #expect(StartupPacket.decode(FrontendMessage.query("SELECT 1")) == badLength)
    }

    @Test func sslRequestWithWrongLength() {
        let longer = untyped(be32(StartupCode.sslRequest) + [0, 0, 0, 0])
        #expect(StartupPacket.decode(longer) == badLength)
        let gss = untyped(be32(StartupCode.gssEncRequest) + [0])
        #expect(StartupPacket.decode(gss) == badLength)
    }

    @Test func cancelRequestWithWrongLength() {
        #expect(StartupPacket.decode(untyped(be32(StartupCode.cancelRequest))) == badLength)
        #expect(StartupPacket.decode(untyped(be32(StartupCode.cancelRequest) + [0, 0, 0, 1, 0, 0, 0, 2, 0])) == badLength)
    }

    @Test func protocol2IsUnsupported() {
        let packet = untyped([0, 2, 0, 0] + [UInt8](repeating: 0, count: 288))
        #expect(StartupPacket.decode(packet) == .invalid("unsupported frontend protocol 2.0: server supports 3.0 to 3.0"))
    }

    @Test func protocol4IsUnsupported() {
        let packet = untyped([0, 4, 0, 0] + cstr("user") + cstr("u") + [0])
        #expect(StartupPacket.decode(packet) == .invalid("unsupported frontend protocol 4.0: server supports 3.0 to 3.0"))
    }

    @Test func missingFinalTerminator() {
        // The last value's NUL is there, the list terminator is not.
        #expect(StartupPacket.decode(untyped([0, 3, 0, 0] + cstr("user") + cstr("u"))) == noTerminator)
        // No NUL after the last value.
        #expect(StartupPacket.decode(untyped([0, 3, 0, 0] + cstr("user") + bytes("u"))) == noTerminator)
        // A name without a value.
        #expect(StartupPacket.decode(untyped([0, 3, 0, 0] + cstr("user") + [0])) == noTerminator)
        // Code only, nothing after it.
        #expect(StartupPacket.decode(untyped([0, 3, 0, 0])) == noTerminator)
        // Last byte is not NUL.
        #expect(StartupPacket.decode(untyped([0, 3, 0, 0] + cstr("user") + cstr("u") + [7])) == noTerminator)
    }

    @Test func bytesAfterTerminatorInsideTheLength() {
        #expect(StartupPacket.decode(untyped([0, 3, 0, 0] + cstr("user") + cstr("u") + [0, 0])) == noTerminator)
    }

    @Test func everyTruncatedLengthFieldIsRejectedNeverCrashes() {
        // Claim a shorter length than the packet really has: each must be invalid or a shorter valid packet.
        let body = Array(handWrittenStartup.dropFirst(4))
        for claimed in 8..<handWrittenStartup.count {
            let packet = be32(Int32(claimed)) + body
            #expect(StartupPacket.decode(packet) == noTerminator, "claimed \(claimed)")
        }
    }
}
