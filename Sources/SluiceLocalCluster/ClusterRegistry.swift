import Foundation

/// The clusters this process started and has not stopped yet. An `atexit` hook stops them, so a
/// cluster whose owner forgot `stop()` (or a process ending through `exit()`, e.g. from a signal
/// handler) does not leave a server and its directory behind. Entries are weak: a cluster that is
/// deallocated stops itself in `deinit`.
enum ClusterRegistry {
    private struct Entry {
        weak var cluster: LocalCluster?
    }

    private static let entries = Locked<[ObjectIdentifier: Entry]>([:])

    /// Installed once, on first registration.
    private static let exitHook: Void = {
        atexit { ClusterRegistry.stopAll() }
    }()

    static func add(_ cluster: LocalCluster) {
        _ = exitHook
        entries.withLock { $0[ObjectIdentifier(cluster)] = Entry(cluster: cluster) }
    }

    static func remove(_ cluster: LocalCluster) {
        _ = entries.withLock { $0.removeValue(forKey: ObjectIdentifier(cluster)) }
    }

    static func stopAll() {
        // Collected first: `stop()` calls `remove`, which takes the lock again.
        let running = entries.withLock { $0.values.compactMap(\.cluster) }
        running.forEach { $0.stop() }
    }
}
