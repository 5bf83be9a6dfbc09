import Glibc

/// A fixed-capacity byte buffer with a read and a write index, used for bytes in flight on a
/// socket. Buffers come from a `BufferPool` and go back to it once drained, so an idle
/// connection holds none. All pointer work stays inside this type.
public final class IOBuffer {
    public let capacity: Int
    private let storage: UnsafeMutableRawPointer
    public private(set) var readIndex = 0
    public private(set) var writeIndex = 0

    public init(capacity: Int) {
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Bytes written and not yet consumed.
    public var readableCount: Int { writeIndex - readIndex }
    public var isEmpty: Bool { readIndex == writeIndex }
    /// Room left at the end; `compact()` makes more by moving unread bytes to the front.
    public var writableCount: Int { capacity - writeIndex }

    /// The byte `offset` bytes past the read index. The caller keeps `offset < readableCount`.
    public func byte(at offset: Int) -> UInt8 {
        precondition(offset >= 0 && offset < readableCount, "IOBuffer read out of bounds")
        return storage.load(fromByteOffset: readIndex + offset, as: UInt8.self)
    }

    /// The big-endian UInt32 at `offset` past the read index.
    public func uint32(at offset: Int) -> UInt32 {
        precondition(offset >= 0 && offset + 4 <= readableCount, "IOBuffer read out of bounds")
        var value: UInt32 = 0
        for index in 0..<4 {
            value = value << 8 | UInt32(storage.load(fromByteOffset: readIndex + offset + index, as: UInt8.self))
        }
        return value
    }

    /// A copy of `count` unread bytes starting `offset` past the read index.
    public func copyBytes(at offset: Int, count: Int) -> [UInt8] {
        precondition(offset >= 0 && count >= 0 && offset + count <= readableCount, "IOBuffer read out of bounds")
        return [UInt8](UnsafeRawBufferPointer(start: storage + readIndex + offset, count: count))
    }

    /// Appends `count` unread bytes starting `offset` past the read index to `array`.
    public func appendBytes(at offset: Int, count: Int, to array: inout [UInt8]) {
        precondition(offset >= 0 && count >= 0 && offset + count <= readableCount, "IOBuffer read out of bounds")
        array.append(contentsOf: UnsafeRawBufferPointer(start: storage + readIndex + offset, count: count))
    }

    public func consume(_ count: Int) {
        precondition(count >= 0 && count <= readableCount, "IOBuffer consume out of bounds")
        readIndex += count
        if readIndex == writeIndex { clear() }
    }

    public func clear() {
        readIndex = 0
        writeIndex = 0
    }

    /// Moves the unread bytes to the front.
    public func compact() {
        guard readIndex > 0 else { return }
        let count = readableCount
        if count > 0 { memmove(storage, storage + readIndex, count) }
        readIndex = 0
        writeIndex = count
    }

    /// Appends as many of `bytes` as fit; returns how many did.
    @discardableResult
    public func append(_ bytes: some Collection<UInt8>) -> Int {
        if writableCount < bytes.count { compact() }
        let count = min(bytes.count, writableCount)
        UnsafeMutableRawBufferPointer(start: storage + writeIndex, count: count).copyBytes(from: bytes.prefix(count))
        writeIndex += count
        return count
    }

    /// Appends up to `count` unread bytes of `other` starting `offset` past its read index.
    @discardableResult
    public func append(from other: IOBuffer, offset: Int, count: Int) -> Int {
        precondition(offset >= 0 && count >= 0 && offset + count <= other.readableCount, "IOBuffer read out of bounds")
        if writableCount < count { compact() }
        let copied = min(count, writableCount)
        memcpy(storage + writeIndex, other.storage + other.readIndex + offset, copied)
        writeIndex += copied
        return copied
    }

    /// Lets `body` view `count` unread bytes starting `offset` past the read index.
    public func withUnreadBytes<T>(offset: Int = 0, count: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        precondition(offset >= 0 && count >= 0 && offset + count <= readableCount, "IOBuffer read out of bounds")
        return try body(UnsafeRawBufferPointer(start: storage + readIndex + offset, count: count))
    }

    /// Lets `fill` write into the free space; it returns how many bytes it wrote.
    public func appending<E: Error>(_ fill: (UnsafeMutableRawPointer, Int) throws(E) -> Int) throws(E) -> Int {
        if writableCount == 0 { compact() }
        let written = try fill(storage + writeIndex, writableCount)
        precondition(written >= 0 && written <= writableCount, "IOBuffer append out of bounds")
        writeIndex += written
        return written
    }

    /// One `read(2)` into the free space.
    public func read(from fd: Int32) -> IOResult {
        if writableCount == 0 { compact() }
        guard writableCount > 0 else { return .bytes(0) }
        while true {
            let result = Glibc.read(fd, storage + writeIndex, writableCount)
            if result > 0 {
                writeIndex += result
                return .bytes(result)
            }
            if result == 0 { return .endOfFile }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed(errno)
        }
    }

    /// One `write(2)` of `count` unread bytes starting `offset` past the read index. Consumes nothing.
    public func write(to fd: Int32, offset: Int = 0, count: Int? = nil) -> IOResult {
        let length = count ?? readableCount - offset
        precondition(offset >= 0 && length >= 0 && offset + length <= readableCount, "IOBuffer write out of bounds")
        guard length > 0 else { return .bytes(0) }
        return Socket.write(fd, storage + readIndex + offset, length)
    }
}

/// The outcome of one read or write system call on a non-blocking descriptor.
public enum IOResult: Equatable, Sendable {
    case bytes(Int)
    case wouldBlock
    case endOfFile
    case failed(Int32)
}

/// A loop's free list of I/O buffers of one size, capped so a burst does not pin memory forever.
public final class BufferPool {
    public let bufferSize: Int
    private var free: [IOBuffer] = []
    private let maximumFree: Int

    public init(bufferSize: Int, maximumFree: Int = 256) {
        self.bufferSize = bufferSize
        self.maximumFree = maximumFree
    }

    public func take() -> IOBuffer { free.popLast() ?? IOBuffer(capacity: bufferSize) }

    public func give(_ buffer: IOBuffer) {
        buffer.clear()
        if free.count < maximumFree && buffer.capacity == bufferSize { free.append(buffer) }
    }
}
