import CSluiceSys
import Glibc

/// One resolved address, kept as raw `sockaddr_storage` so IPv4 and IPv6 share a path.
public struct ResolvedAddress: @unchecked Sendable, Equatable, CustomStringConvertible {
    var family: Int32
    var storage: sockaddr_storage
    var length: socklen_t

    /// The address alone, numerically ("10.0.0.7", "::1"), as DNS answers compare.
    public var host: String {
        let text = Socket.describe(storage)
        guard let colon = text.lastIndex(of: ":") else { return text }
        let host = text[..<colon]
        return String(host.hasPrefix("[") ? host.dropFirst().dropLast() : host)
    }

    /// "host:port", with brackets around an IPv6 host.
    public var description: String { Socket.describe(storage) }

    public static func == (lhs: ResolvedAddress, rhs: ResolvedAddress) -> Bool {
        lhs.description == rhs.description
    }

    func withSockAddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var copy = storage
        return withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

extension Socket {
    /// Resolves a host name or numeric address with getaddrinfo (TCP only). A name may take
    /// the system resolver's time: call it off the event loops.
    public static func lookUp(host: String, port: Int) throws -> [ResolvedAddress] {
        try resolve(host: host, port: port, passive: false)
    }

    /// The address when `host` is a numeric IPv4 or IPv6 address, found without any lookup.
    public static func numericAddress(_ host: String, port: Int) -> ResolvedAddress? {
        try? resolve(host: host, port: port, passive: false, numericOnly: true).first
    }

    static func resolve(host: String, port: Int, passive: Bool, numericOnly: Bool = false) throws -> [ResolvedAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = (passive ? AI_PASSIVE : 0) | (numericOnly ? AI_NUMERICHOST : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw SocketError("resolve \(host): \(String(cString: gai_strerror(status)))", code: EHOSTUNREACH)
        }
        defer { freeaddrinfo(first) }
        var addresses: [ResolvedAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var storage = sockaddr_storage()
            memcpy(&storage, entry.pointee.ai_addr, Int(entry.pointee.ai_addrlen))
            addresses.append(ResolvedAddress(family: entry.pointee.ai_family, storage: storage, length: entry.pointee.ai_addrlen))
            cursor = entry.pointee.ai_next
        }
        return addresses
    }

    static func withUnixAddress<Result>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) throws -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw SocketError("unix socket path too long: \(path)", code: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// "host:port" for an accepted peer, "unix" for a Unix socket peer.
    static func describe(_ storage: sockaddr_storage) -> String {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let family = Int32(storage.ss_family)
        guard family == AF_INET || family == AF_INET6 else { return "unix" }
        let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard status == 0 else { return "unknown" }
        let hostText = String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let portText = String(decoding: service.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return family == AF_INET6 ? "[\(hostText)]:\(portText)" : "\(hostText):\(portText)"
    }
}
