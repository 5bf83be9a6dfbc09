import Glibc

/// `auth_hba_file` with `auth_type = hba`: PgBouncer's subset of pg_hba.conf. Each line is
/// `TYPE DATABASE USER [ADDRESS] METHOD`; the first line that matches a connection decides its
/// method, and a connection no line matches is refused.
public struct HostBasedAuthentication: Sendable, Equatable {
    public enum ConnectionType: String, Sendable {
        case local, host, hostssl, hostnossl
    }

    public enum Method: String, Sendable {
        case trust, reject, password, md5
        case scramSHA256 = "scram-sha-256"
        /// A TLS client certificate whose common name is the user name.
        case cert
    }

    public struct Rule: Sendable, Equatable {
        public var type: ConnectionType
        /// nil: all.
        public var databases: Set<String>?
        /// nil: all.
        public var users: Set<String>?
        /// For host types; nil: all addresses.
        public var network: Network?
        public var method: Method
    }

    public private(set) var rules: [Rule] = []

    public init() {}

    /// How a client reached Sluice.
    public enum Origin: Sendable {
        case unixSocket
        case tcp(address: String, tls: Bool)
    }

    /// The method of the first rule matching the connection; nil when none does.
    public func method(database: String, user: String, origin: Origin) -> Method? {
        for rule in rules {
            guard rule.databases.map({ $0.contains(database) }) ?? true, rule.users.map({ $0.contains(user) }) ?? true else { continue }
            switch (rule.type, origin) {
            case (.local, .unixSocket):
                return rule.method
            case (.host, .tcp(let address, _)), (.hostssl, .tcp(let address, true)), (.hostnossl, .tcp(let address, false)):
                if rule.network.map({ $0.contains(address) }) ?? true { return rule.method }
            default:
                continue
            }
        }
        return nil
    }

    /// Parses the file; errors name the line.
    static func parse(text: String, path: String) -> (HostBasedAuthentication, [ConfigDiagnostic]) {
        var result = HostBasedAuthentication()
        var diagnostics: [ConfigDiagnostic] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard !fields.isEmpty else { continue }
            let location = SourceLocation(file: path, line: index + 1)
            do throws(HBAError) {
                result.rules.append(try rule(fields))
            } catch {
                diagnostics.append(.error(location, "auth_hba_file: \(error.message)"))
            }
        }
        return (result, diagnostics)
    }

    private struct HBAError: Error {
        let message: String
    }

    private static func rule(_ fields: [String]) throws(HBAError) -> Rule {
        guard let type = ConnectionType(rawValue: fields[0].lowercased()) else {
            throw HBAError(message: "unknown connection type \"\(fields[0])\" (local, host, hostssl or hostnossl)")
        }
        let needed = type == .local ? 4 : 5
        guard fields.count >= needed else { throw HBAError(message: "a \(type.rawValue) line needs \(needed) fields") }
        var network: Network?
        var methodIndex = 3
        if type != .local {
            methodIndex = 4
            if fields[3].lowercased() != "all" {
                if !fields[3].contains("/"), fields.count >= 6, let mask = Network(address: fields[3], mask: fields[4]) {
                    network = mask
                    methodIndex = 5
                } else if let parsed = Network(cidr: fields[3]) {
                    network = parsed
                } else {
                    throw HBAError(message: "invalid address \"\(fields[3])\" (an address with /bits, or all)")
                }
            }
        }
        guard let method = Method(rawValue: fields[methodIndex].lowercased()) else {
            throw HBAError(message: "unsupported method \"\(fields[methodIndex])\" (trust, reject, password, md5, scram-sha-256 or cert)")
        }
        return Rule(type: type, databases: names(fields[1]), users: names(fields[2]), network: network, method: method)
    }

    /// `all`, or a comma-separated list of names.
    private static func names(_ field: String) -> Set<String>? {
        field.lowercased() == "all" ? nil : Set(field.split(separator: ",").map { String($0).trimmed })
    }
}

/// An IPv4 or IPv6 network: an address and a prefix length.
public struct Network: Sendable, Equatable {
    let bytes: [UInt8]
    let prefixLength: Int

    init?(cidr: String) {
        let parts = cidr.split(separator: "/", maxSplits: 1)
        guard let bytes = Network.addressBytes(String(parts[0])) else { return nil }
        let length = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let length, (0...bytes.count * 8).contains(length) else { return nil }
        self.bytes = bytes
        self.prefixLength = length
    }

    /// An address and a netmask written as an address (`192.168.0.0 255.255.0.0`).
    init?(address: String, mask: String) {
        guard let bytes = Network.addressBytes(address), let maskBytes = Network.addressBytes(mask),
              maskBytes.count == bytes.count else { return nil }
        let bits = maskBytes.reduce(0) { $0 + $1.nonzeroBitCount }
        self.bytes = bytes
        self.prefixLength = bits
    }

    /// True when `address` (text, v4 or v6) lies in the network.
    public func contains(_ address: String) -> Bool {
        guard let other = Network.addressBytes(address), other.count == bytes.count else { return false }
        var remaining = prefixLength
        for index in bytes.indices where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            guard bytes[index] & mask == other[index] & mask else { return false }
            remaining -= bits
        }
        return true
    }

    static func addressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }
}
