import Foundation

/// Finds a TCP port on 127.0.0.1 that is free right now.
///
/// The port is only known to be free at the moment of the probe; another process may take it before
/// the caller binds it, so callers that can retry (like `LocalCluster.start`) should.
public enum FreePort {
    public static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LocalClusterError.noFreePort(String(cString: strerror(errno))) }
        defer { close(fd) }

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw LocalClusterError.noFreePort(String(cString: strerror(errno))) }

        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw LocalClusterError.noFreePort(String(cString: strerror(errno))) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
