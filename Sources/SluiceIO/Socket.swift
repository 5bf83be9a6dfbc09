import CSluiceSys
import Glibc

/// A failed socket system call, with the call's name and errno.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let code: Int32
    public init(_ operation: String, code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }
    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

/// Non-blocking socket operations on raw descriptors.
public enum Socket {
    /// Listens on a TCP address ("127.0.0.1", "::1", "0.0.0.0", "::"), non-blocking.
    public static func listenTCP(host: String, port: Int, backlog: Int32 = 1024, reusePort: Bool = false) throws -> Int32 {
        var last: SocketError?
        for address in try resolve(host: host, port: port, passive: true) {
            let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { last = SocketError("socket"); continue }
            setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
            if address.family == AF_INET6 { setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            let bound = address.withSockAddr { bind(fd, $0, $1) }
            if bound == 0, listen(fd, backlog) == 0 { return fd }
            last = SocketError("bind \(host):\(port)")
            close(fd)
        }
        throw last ?? SocketError("listen \(host):\(port)", code: EADDRNOTAVAIL)
    }

    /// Listens on a Unix socket path, replacing a stale socket file left by a previous run.
    public static func listenUnix(path: String, backlog: Int32 = 1024) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        unlink(path)
        let bound = try withUnixAddress(path) { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let error = SocketError("bind \(path)")
            close(fd)
            throw error
        }
        chmod(path, 0o777)
        return fd
    }

    /// True when a process accepts connections on the Unix socket at `path` (a file left by
    /// one that exited refuses them).
    public static func hasListener(unixPath path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return (try? withUnixAddress(path) { Glibc.connect(fd, $0, $1) }) == 0
    }

    /// Accepts one connection, non-blocking; nil when none is pending.
    public static func accept(_ listener: Int32) throws -> (fd: Int32, peer: String)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let fd = sluice_accept4(listener, &storage, &length)
            if fd >= 0 { return (fd, describe(storage)) }
            switch errno {
            case EINTR, ECONNABORTED: continue
            case EAGAIN, EWOULDBLOCK: return nil
            default: throw SocketError("accept")
            }
        }
    }

    /// Starts a non-blocking connect; the caller waits for writability, then checks `pendingError`.
    public static func connect(host: String, port: Int) throws -> Int32 {
        if host.hasPrefix("/") {
            return try connectUnix(path: "\(host)/.s.PGSQL.\(port)")
        }
        return try connect(to: try resolve(host: host, port: port, passive: false)).fd
    }

    /// Starts a non-blocking connect to the first of `addresses` that takes one, and says which.
    public static func connect(to addresses: [ResolvedAddress]) throws -> (fd: Int32, address: ResolvedAddress) {
        var last: SocketError?
        for address in addresses {
            let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { last = SocketError("socket"); continue }
            setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            let result = address.withSockAddr { Glibc.connect(fd, $0, $1) }
            if result == 0 || errno == EINPROGRESS { return (fd, address) }
            last = SocketError("connect \(address)")
            close(fd)
        }
        throw last ?? SocketError("connect: no address", code: EHOSTUNREACH)
    }

    public static func connectUnix(path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        let result = try withUnixAddress(path) { Glibc.connect(fd, $0, $1) }
        // A Unix socket connects at once or fails; EAGAIN means the server's backlog is full.
        if result == 0 { return fd }
        let error = SocketError("connect \(path)")
        close(fd)
        throw error
    }

    /// The result of a non-blocking connect once the socket is writable: 0 on success, else errno.
    public static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }

    public static func setNoDelay(_ fd: Int32) {
        setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    public static func write(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> IOResult {
        while true {
            let result = send(fd, bytes, count, Int32(MSG_NOSIGNAL))
            if result >= 0 { return .bytes(result) }
            if errno == EINTR { continue }
            if errno == ENOTSOCK { return writePlain(fd, bytes, count) }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed(errno)
        }
    }

    /// Writes a byte array; used for small messages Sluice builds itself.
    public static func write(_ fd: Int32, _ bytes: [UInt8]) -> IOResult {
        bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }

    public static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// True when the process at the other end of a Unix socket runs as this process's user.
    public static func peerIsThisUser(_ fd: Int32) -> Bool {
        let uid = sluice_peer_uid(fd)
        return uid >= 0 && uid_t(uid) == getuid()
    }

    /// Ends the sending side: the peer reads what was sent, then end of file.
    public static func shutdownWrite(_ fd: Int32) { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    private static func writePlain(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> IOResult {
        while true {
            let result = Glibc.write(fd, bytes, count)
            if result >= 0 { return .bytes(result) }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed(errno)
        }
    }

    private static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}
