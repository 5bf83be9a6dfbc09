import Glibc
import Testing
@testable import SluiceIO

/// A connected pair of non-blocking Unix stream sockets.
func makeSocketPair() throws -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    let result = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
    try #require(result == 0, "socketpair: errno \(errno)")
    setNonBlocking(fds[0])
    setNonBlocking(fds[1])
    return (fds[0], fds[1])
}

func setNonBlocking(_ fd: Int32) {
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
}

func setBlocking(_ fd: Int32) {
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
}

extension EventLoop {
    /// Runs the loop on the calling thread until `condition` holds (checked every millisecond
    /// and after every timer) or `timeout` seconds pass. Returns whether the condition held.
    @discardableResult
    func run(timeout: Double = 5, until condition: @escaping () -> Bool) -> Bool {
        var done = false
        let deadline = MonotonicClock.now() + timeout
        func poll() {
            if condition() {
                done = true
                stop()
            } else if MonotonicClock.now() >= deadline {
                stop()
            } else {
                schedule(after: 0.001, poll)
            }
        }
        schedule(after: 0, poll)
        run()
        return done
    }

    /// Runs the loop for `seconds`, whatever happens.
    func run(for seconds: Double) {
        schedule(after: seconds) { [unowned self] in stop() }
        run()
    }
}

/// The port a listening or connected TCP socket is bound to.
func localPort(_ fd: Int32) -> Int {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let status = withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard status == 0 else { return -1 }
    if Int32(storage.ss_family) == AF_INET6 {
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
        }
    }
    return withUnsafePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound to port 0, read back, then closed).
func unusedPort() throws -> Int {
    let fd = try Socket.listenTCP(host: "127.0.0.1", port: 0)
    defer { Socket.close(fd) }
    return localPort(fd)
}

/// True when an IPv6 loopback socket can be bound.
func ipv6LoopbackAvailable() -> Bool {
    guard let fd = try? Socket.listenTCP(host: "::1", port: 0) else { return false }
    Socket.close(fd)
    return true
}

/// A fresh private directory, removed by `removeDirectory`.
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/sluice-io-test-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    try #require(result != nil, "mkdtemp: errno \(errno)")
    return String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func removeDirectory(_ path: String) {
    if let directory = opendir(path) {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { unlink("\(path)/\(name)") }
        }
        closedir(directory)
    }
    rmdir(path)
}

/// A blocking client connect with the plain socket API, independent of the code under test.
func blockingConnectTCP(host: String, port: Int) throws -> Int32 {
    let isV6 = host.contains(":")
    let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    try #require(fd >= 0)
    var result: Int32
    if isV6 {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = UInt16(port).bigEndian
        inet_pton(AF_INET6, host, &address.sin6_addr)
        result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    } else {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
    if result != 0 {
        let code = errno
        close(fd)
        Issue.record("connect \(host):\(port): errno \(code)")
        throw SocketError("connect", code: code)
    }
    return fd
}

func blockingConnectUnix(path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    try #require(fd >= 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        let bytes = Array(path.utf8)
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    if result != 0 {
        let code = errno
        close(fd)
        Issue.record("connect \(path): errno \(code)")
        throw SocketError("connect", code: code)
    }
    return fd
}

/// Writes everything to a descriptor (retrying on EAGAIN briefly), never raising SIGPIPE.
/// Records an issue and returns false when a write fails, unless `failureExpected`.
@discardableResult
func writeAll(_ fd: Int32, _ bytes: [UInt8], failureExpected: Bool = false) -> Bool {
    var offset = 0
    while offset < bytes.count {
        var written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
        if written < 0 && errno == ENOTSOCK {
            written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        }
        if written > 0 {
            offset += written
        } else if written < 0 && (errno == EAGAIN || errno == EINTR) {
            usleep(100)
        } else {
            if !failureExpected { Issue.record("write failed: errno \(errno)") }
            return false
        }
    }
    return true
}

/// Compares large byte arrays without printing them on failure.
func expectSameBytes(_ actual: [UInt8], _ expected: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.count == expected.count else {
        Issue.record("got \(actual.count) bytes, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    if let index = actual.indices.first(where: { actual[$0] != expected[$0] }) {
        Issue.record("first difference at byte \(index) of \(actual.count)", sourceLocation: sourceLocation)
    }
}

/// Everything readable on a non-blocking descriptor right now.
func readAvailable(_ fd: Int32) -> [UInt8] {
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if got <= 0 { return result }
        result += chunk[0..<got]
    }
}

/// Reads what is available now from a descriptor (non-blocking reads until EAGAIN/EOF), or
/// blocks until `count` bytes arrived on a blocking descriptor.
func readExactly(_ fd: Int32, count: Int, timeout: Double = 5) -> [UInt8] {
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    let deadline = MonotonicClock.now() + timeout
    while result.count < count && MonotonicClock.now() < deadline {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 100) >= 0 else { break }
        if descriptor.revents == 0 { continue }
        let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, min($0.count, count - result.count)) }
        if got > 0 { result += chunk[0..<got] } else if got == 0 { break } else if errno != EAGAIN && errno != EINTR { break }
    }
    return result
}

/// A repeatable byte pattern that makes reordering or loss visible.
func pattern(count: Int, seed: UInt32 = 0x9E37_79B9) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}

/// Records what a connection reports. By default it consumes every readable byte.
final class Recorder: ConnectionDelegate {
    var established = 0
    var drained = 0
    var readableCalls = 0
    var received: [UInt8] = []
    var closedReason: ConnectionCloseReason?
    var closedCount = 0
    var onEstablished: ((Connection) -> Void)?
    var onDrained: ((Connection) -> Void)?
    /// Replaces the default consume-everything behaviour when set.
    var onReadable: ((Connection) -> Void)?
    var onClosed: ((Connection, ConnectionCloseReason) -> Void)?

    func connectionEstablished(_ connection: Connection) {
        established += 1
        onEstablished?(connection)
    }

    func connectionReadable(_ connection: Connection) {
        readableCalls += 1
        if let onReadable {
            onReadable(connection)
        } else {
            consumeAll(connection)
        }
    }

    func consumeAll(_ connection: Connection) {
        guard let input = connection.input else { return }
        received += input.copyBytes(at: 0, count: input.readableCount)
        input.consume(input.readableCount)
    }

    func connectionDrained(_ connection: Connection) {
        drained += 1
        onDrained?(connection)
    }

    func connectionClosed(_ connection: Connection, reason: ConnectionCloseReason) {
        closedCount += 1
        closedReason = reason
        onClosed?(connection, reason)
    }
}

/// A raw handler that counts and records the events it receives.
final class ProbeHandler: EventHandler {
    var events: [IOEvents] = []
    var onEvent: ((IOEvents) -> Void)?
    func handle(_ events: IOEvents) {
        self.events.append(events)
        onEvent?(events)
    }
}
