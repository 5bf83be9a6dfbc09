import Testing
import PostgresWire

/// A StartupMessage for protocol 3.0 with user=alice, database=shop, written out by hand.
let handWrittenStartup: [UInt8] =
    [0, 0, 0, 34, 0, 3, 0, 0] + cstr("user") + cstr("alice") + cstr("database") + cstr("shop") + [0]

@Suite struct StartupPacketDecodeTests {
    @Test func handWrittenStartupMessage() {
        #expect(handWrittenStartup.count == 34)
        let expected = StartupPacket.startup(majorVersion: 3, minorVersion: 0, parameters: [
            StartupParameter(name: "user", value: "alice"),
            StartupParameter(name: "database", value: "shop"),
        ])
        #expect(StartupPacket.decode(handWrittenStartup) == .packet(expected, consumed: 34))
    }

    @Test func everyPrefixNeedsMoreBytes() {
        for count in 0..<handWrittenStartup.count {
            #expect(StartupPacket.decode(Array(handWrittenStartup.prefix(count))) == .needMoreBytes, "prefix \(count)")
        }
    }

    @Test func fedByteByByteDecodesOnceComplete() {
        var buffer: [UInt8] = []
        var results: [StartupPacket.DecodeResult] = []
        for byte in handWrittenStartup {
            buffer.append(byte)
            results.append(StartupPacket.decode(buffer))
        }
        #expect(results.dropLast().allSatisfy { $0 == .needMoreBytes })
        guard case .packet(.startup(3, 0, let parameters), 34) = results.last else {
            Issue.record("last result \(String(describing: results.last))")
            return
        }
        #expect(parameters.map(\.name) == ["user", "database"])
    }

    @Test func twoPacketsBackToBack() {
        let second = StartupPacket.startupMessage([StartupParameter(name: "user", value: "bob")])
        let stream = StartupPacket.sslRequestBytes + handWrittenStartup + second
        #expect(StartupPacket.decode(stream) == .packet(.sslRequest, consumed: 8))
        let rest = Array(stream.dropFirst(8))
        guard case .packet(.startup(_, _, let first), let consumed) = StartupPacket.decode(rest) else {
            Issue.record("no startup packet")
            return
        }
        #expect(consumed == 34)
        #expect(first == [StartupParameter(name: "user", value: "alice"), StartupParameter(name: "database", value: "shop")])
        let last = Array(rest.dropFirst(consumed))
        #expect(StartupPacket.decode(last)
            == .packet(.startup(majorVersion: 3, minorVersion: 0, parameters: [StartupParameter(name: "user", value: "bob")]),
                       consumed: second.count))
        // A whole packet followed by a partial one: the first decodes, the rest waits.
        #expect(StartupPacket.decode(handWrittenStartup + Array(second.prefix(5)))
            == .packet(.startup(majorVersion: 3, minorVersion: 0, parameters: first), consumed: 34))
        #expect(StartupPacket.decode(Array(second.prefix(5))) == .needMoreBytes)
    }

    @Test func sslRequest() {
        let packet: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]
        #expect(StartupPacket.decode(packet) == .packet(.sslRequest, consumed: 8))
        for count in 0..<8 { #expect(StartupPacket.decode(Array(packet.prefix(count))) == .needMoreBytes) }
    }

    @Test func gssEncRequest() {
        let packet: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x30]
        #expect(StartupPacket.decode(packet) == .packet(.gssEncRequest, consumed: 8))
    }

    @Test func cancelRequest() {
        let packet: [UInt8] = [0, 0, 0, 16, 0x04, 0xD2, 0x16, 0x2E, 0, 0, 0x30, 0x39, 0xFF, 0xFF, 0xFF, 0xFE]
        let key = BackendKey(processID: 12345, secretKey: -2)
        #expect(StartupPacket.decode(packet) == .packet(.cancel(key), consumed: 16))
        for count in 0..<16 { #expect(StartupPacket.decode(Array(packet.prefix(count))) == .needMoreBytes) }
    }

    @Test func protocol31IsDecodedForNegotiation() {
        let packet = untyped([0, 3, 0, 1] + cstr("user") + cstr("u") + cstr("_pq_.x") + cstr("1") + [0])
        #expect(StartupPacket.decode(packet) == .packet(.startup(majorVersion: 3, minorVersion: 1, parameters: [
            StartupParameter(name: "user", value: "u"), StartupParameter(name: "_pq_.x", value: "1"),
        ]), consumed: packet.count))
    }

    @Test func noParametersAndEmptyValues() {
        let empty = untyped([0, 3, 0, 0, 0])
        #expect(StartupPacket.decode(empty) == .packet(.startup(majorVersion: 3, minorVersion: 0, parameters: []), consumed: 9))
        let emptyValue = untyped([0, 3, 0, 0] + cstr("options") + cstr("") + [0])
        #expect(StartupPacket.decode(emptyValue) == .packet(.startup(majorVersion: 3, minorVersion: 0, parameters: [
            StartupParameter(name: "options", value: ""),
        ]), consumed: emptyValue.count))
    }

    @Test func maximumLengthIsAccepted() {
        // 4 length + 4 code + "abcd\0" + filler + "\0" + terminator.
        let filler = String(repeating: "x", count: StartupPacket.maximumLength - 15)
        let exact = untyped([0, 3, 0, 0] + cstr("abcd") + cstr(filler) + [0])
        #expect(exact.count == StartupPacket.maximumLength)
        #expect(StartupPacket.decode(exact) == .packet(.startup(majorVersion: 3, minorVersion: 0, parameters: [
            StartupParameter(name: "abcd", value: filler),
        ]), consumed: StartupPacket.maximumLength))
    }
}

@Suite struct StartupPacketEncodeTests {
    @Test func startupMessageMatchesHandWrittenBytes() {
        let encoded = StartupPacket.startupMessage([
            StartupParameter(name: "user", value: "alice"), StartupParameter(name: "database", value: "shop"),
        ])
        #expect(encoded == handWrittenStartup)
    }

    @Test func startupMessageRoundTrip() {
        let parameters = [
            StartupParameter(name: "user", value: "ünïcode"),
            StartupParameter(name: "application_name", value: ""),
            StartupParameter(name: "DateStyle", value: "ISO, MDY"),
        ]
        let encoded = StartupPacket.startupMessage(parameters)
        #expect(StartupPacket.decode(encoded)
            == .packet(.startup(majorVersion: 3, minorVersion: 0, parameters: parameters), consumed: encoded.count))
    }

    @Test func cancelRequestBytesAndRoundTrip() {
        let key = BackendKey(processID: 0x0102_0304, secretKey: Int32.min)
        let encoded = StartupPacket.cancelRequest(key)
        #expect(encoded == [0, 0, 0, 16, 4, 210, 22, 46, 1, 2, 3, 4, 0x80, 0, 0, 0])
        #expect(StartupPacket.decode(encoded) == .packet(.cancel(key), consumed: 16))
    }

    @Test func startupCodes() {
        #expect(StartupCode.protocol3 == 196_608)
        #expect(StartupCode.cancelRequest == 80_877_102)
        #expect(StartupCode.sslRequest == 80_877_103)
        #expect(StartupCode.gssEncRequest == 80_877_104)
    }
}

extension StartupPacket {
    static let sslRequestBytes: [UInt8] = [0, 0, 0, 8, 4, 210, 22, 47]
}
