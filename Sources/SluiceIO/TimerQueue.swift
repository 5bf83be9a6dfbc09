/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    let value: UInt64
}

/// Timers of one loop: a binary min-heap of deadlines. Cancelling removes the action; its heap
/// entry is skipped when it comes up.
struct TimerQueue {
    private struct Entry {
        var deadline: Double
        var id: UInt64
    }

    private var heap: [Entry] = []
    private var actions: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 0

    mutating func schedule(at deadline: Double, _ action: @escaping () -> Void) -> TimerID {
        nextID += 1
        actions[nextID] = action
        heap.append(Entry(deadline: deadline, id: nextID))
        siftUp(heap.count - 1)
        return TimerID(value: nextID)
    }

    mutating func cancel(_ timer: TimerID) {
        actions[timer.value] = nil
        if actions.isEmpty { heap.removeAll(keepingCapacity: true) }
    }

    /// The epoll timeout: -1 when no timer is pending.
    mutating func millisecondsUntilNext(now: Double) -> Int32 {
        while let first = heap.first, actions[first.id] == nil { popFirst() }
        guard let first = heap.first else { return -1 }
        let delay = (first.deadline - now) * 1000
        return delay <= 0 ? 0 : Int32(min(delay.rounded(.up), Double(Int32.max)))
    }

    /// Removes and returns the action of the earliest timer due at `now`, or nil when none is.
    /// The caller runs it after this returns: an action may schedule or cancel timers, which
    /// must not happen while the queue is being mutated (an exclusivity violation).
    mutating func popDue(now: Double) -> (() -> Void)? {
        while let first = heap.first, first.deadline <= now {
            popFirst()
            if let action = actions.removeValue(forKey: first.id) { return action }
        }
        return nil
    }

    private mutating func popFirst() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
