/// A first-in, first-out queue with O(1) `append` and `popFirst` (amortised): an array and the
/// index of its head, compacted once the consumed prefix is as long as what remains.
struct FIFOQueue<Element: Equatable & Sendable>: Sendable {
    private var storage: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { head < storage.count ? storage[head] : nil }
    /// The queued elements, first first.
    var elements: [Element] { Array(storage[head...]) }

    mutating func append(_ element: Element) { storage.append(element) }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Removes the first `limit` elements equal to `element`, keeping the order of the rest.
    mutating func remove(first limit: Int, of element: Element) {
        var left = limit
        var index = head
        while left > 0, index < storage.count {
            if storage[index] == element {
                storage.remove(at: index)
                left -= 1
            } else {
                index += 1
            }
        }
    }

    /// Removes `element` wherever it waits (a client that gave up).
    mutating func remove(_ element: Element) {
        guard let index = storage[head...].firstIndex(of: element) else { return }
        storage.remove(at: index)
    }

    /// Empties the queue and returns what it held, first first.
    mutating func removeAll() -> [Element] {
        defer {
            storage = []
            head = 0
        }
        return elements
    }
}
