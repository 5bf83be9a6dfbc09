import Foundation
import PostgresWire
import SluiceAuth

/// A minimal blocking protocol client, for what psql cannot show: the SQLSTATE of a refused
/// login, the BackendKeyData Sluice hands out, a CancelRequest with that key.
/// Unchecked Sendable: a test hands a client to one other thread at a time.
final class RawClient: @unchecked Sendable {
    enum LoginOutcome {
        case ready(key: BackendKey, parameters: [String: String])
        case refused(ErrorFields)
    }

    struct QueryResult {
        var rows: [[String?]] = []
        var error: ErrorFields?
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeout: Int = 20) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw HarnessError("connect to \(port) failed: errno \(errno)")
        }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Ends the connection without a Terminate, as a client that goes away does.
    func hangUp() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Sends `message` over and over until the socket takes no more (the other side has stopped
    /// reading and every buffer on the way is full); returns how many bytes went. The last
    /// message may be cut short: for a connection that is not used normally afterwards.
    @discardableResult
    func sendUntilFull(_ message: [UInt8]) -> Int {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        let chunk = Array((0..<max(1, 65_536 / message.count)).map { _ in message }.joined())
        var total = 0
        while true {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { return total }
            total += written
        }
    }

    /// Sends a CancelRequest with `key` to `port` from another thread after `delay` seconds.
    static func cancel(_ key: BackendKey, port: Int, after delay: Double) {
        Thread {
            usleep(UInt32(delay * 1_000_000))
            if let canceller = try? RawClient(port: port) {
                canceller.send(StartupPacket.cancelRequest(key))
                _ = try? canceller.readMessage()
            }
        }.start()
    }

    static func canConnect(port: Int) -> Bool {
        (try? RawClient(port: port)) != nil
    }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            offset += written
        }
    }

    /// Reads one whole message; nil when the server closed the connection.
    func readMessage() throws -> (type: UInt8, body: [UInt8])? {
        while true {
            if buffer.count >= 5 {
                let length = Int(UInt32(bigEndianBytes: buffer, at: 1))
                if buffer.count >= 1 + length {
                    let message = (buffer[0], Array(buffer[5..<1 + length]))
                    buffer.removeFirst(1 + length)
                    return message
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return nil }
            guard count > 0 else { throw HarnessError("read failed: errno \(errno)") }
            buffer += chunk[0..<count]
        }
    }

    /// Reads the single-byte answer to an SSLRequest or GSSENCRequest.
    func readByte() throws -> UInt8? {
        var byte: UInt8 = 0
        let count = read(fd, &byte, 1)
        return count == 1 ? byte : nil
    }

    func login(user: String, database: String, password: String? = nil, parameters: [StartupParameter] = []) throws -> LoginOutcome {
        send(StartupPacket.startupMessage([StartupParameter(name: "user", value: user),
                                           StartupParameter(name: "database", value: database)] + parameters))
        var scram: ScramClient?
        var key = BackendKey(processID: 0, secretKey: 0)
        var reported: [String: String] = [:]
        while let (type, body) = try readMessage() {
            switch type {
            case BackendMessageType.errorResponse:
                return .refused(ErrorFields(body: body)!)
            case BackendMessageType.backendKeyData:
                key = BackendMessage.decodeBackendKeyData(body)!
            case BackendMessageType.parameterStatus:
                let parameter = BackendMessage.decodeParameterStatus(body)!
                reported[parameter.name] = parameter.value
            case BackendMessageType.readyForQuery:
                return .ready(key: key, parameters: reported)
            case BackendMessageType.authentication:
                switch AuthenticationRequest(body: body)! {
                case .cleartextPassword:
                    send(FrontendMessage.password(password ?? ""))
                case .md5Password(let salt):
                    let hash = MD5Password.hash(password: password ?? "", user: user)
                    send(FrontendMessage.password(MD5Password.response(storedHash: hash, salt: salt)))
                case .sasl:
                    let client = ScramClient(credential: .password(password ?? ""), clientNonce: Crypto.randomBytes(18))
                    scram = client
                    send(FrontendMessage.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: client.clientFirstMessage()))
                case .saslContinue(let data):
                    guard case .success(let final) = scram!.receiveServerFirst(data) else { throw HarnessError("bad SCRAM server-first") }
                    send(FrontendMessage.saslResponse(final))
                case .saslFinal(let data):
                    guard case .success = scram!.receiveServerFinal(data) else { throw HarnessError("bad SCRAM server signature") }
                case .ok, .unsupported:
                    break
                }
            default:
                break
            }
        }
        throw HarnessError("connection closed during login")
    }

    /// Runs a simple query and collects text rows until ReadyForQuery, or until the server
    /// closes the connection after an error (a FATAL one).
    func query(_ sql: String) throws -> QueryResult {
        send(FrontendMessage.query(sql))
        return try readQueryResult()
    }

    /// Reads the answer to a Query already sent, as `query` does.
    func readQueryResult() throws -> QueryResult {
        var result = QueryResult()
        while let (type, body) = try readMessage() {
            switch type {
            case BackendMessageType.dataRow:
                result.rows.append(BackendMessage.decodeDataRow(body))
            case BackendMessageType.errorResponse:
                result.error = ErrorFields(body: body)
            case BackendMessageType.readyForQuery:
                return result
            default:
                break
            }
        }
        if result.error != nil { return result }
        throw HarnessError("connection closed during query")
    }
}
