/// Work posted to a loop from other threads.
final class Mailbox: Sendable {
    private let queue = Guarded<[@Sendable () -> Void]>([])

    /// Adds work; true when the queue was empty, so the loop needs waking.
    func post(_ work: @escaping @Sendable () -> Void) -> Bool {
        queue.withLock { items in
            items.append(work)
            return items.count == 1
        }
    }

    func drain() -> [@Sendable () -> Void] {
        queue.withLock { items in
            defer { items.removeAll() }
            return items
        }
    }
}
