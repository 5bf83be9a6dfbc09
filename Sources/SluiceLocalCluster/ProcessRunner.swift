import Foundation

/// Small synchronous process helpers used by the cluster, the demo and the integration tests.
///
/// `run` does all its I/O on the calling thread with `poll(2)` (stdin, stdout and stderr are serviced
/// together, so a child producing lots of output never deadlocks on a full pipe) and starts no threads.
public enum ProcessRunner {
    public struct Output: Sendable {
        /// Exit status; for a child killed by a signal, 128 + the signal number (as shells report it).
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// Runs a command to completion and captures its output.
    ///
    /// - Parameters:
    ///   - executable: an absolute/relative path, or a program name looked up on `PATH`.
    ///   - environment: variables added to (or overriding) the current process's environment.
    ///   - input: text written to the child's stdin, which is then closed; with nil stdin is `/dev/null`.
    ///   - timeout: seconds after which the child's process group is killed and `LocalClusterError.timedOut`
    ///     is thrown.
    ///   - currentDirectory: working directory of the child; nil keeps the current one.
    ///
    /// When the child exits but a descendant keeps its stdout/stderr open (a daemon that did not
    /// redirect them), output is collected for one more second and then the call returns.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        input: String? = nil, timeout: Double = 120, currentDirectory: String? = nil
    ) throws -> Output {
        guard let path = which(executable) else { throw LocalClusterError.programNotFound(executable) }
        let mergedEnvironment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        var child = try SpawnedChild.spawn(
            path: path, arguments: arguments, environment: mergedEnvironment,
            currentDirectory: currentDirectory, withInput: input != nil)
        defer { [child.stdin, child.stdout, child.stderr].forEach { if let fd = $0, fd >= 0 { close(fd) } } }

        let pendingInput = Array((input ?? "").utf8)
        var written = 0
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(timeout)
        var exit: (status: Int32, at: ContinuousClock.Instant)?

        while true {
            if exit == nil, let status = reap(child.pid, blocking: false) {
                exit = (status, clock.now)
            }
            if let exit, (child.stdout < 0 && child.stderr < 0) || clock.now - exit.at > .seconds(1) {
                return Output(
                    status: exit.status, stdout: String(decoding: stdout, as: UTF8.self),
                    stderr: String(decoding: stderr, as: UTF8.self))
            }
            if clock.now >= deadline {
                kill(-child.pid, SIGKILL)
                if exit == nil { _ = reap(child.pid, blocking: true) }
                throw LocalClusterError.timedOut(
                    program: executable, seconds: timeout, stderr: String(decoding: stderr, as: UTF8.self))
            }

            var polled: [pollfd] = []
            if let fd = child.stdin { polled.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            if child.stdout >= 0 { polled.append(pollfd(fd: child.stdout, events: Int16(POLLIN), revents: 0)) }
            if child.stderr >= 0 { polled.append(pollfd(fd: child.stderr, events: Int16(POLLIN), revents: 0)) }
            // Wake up regularly to reap the child even while its pipes stay quiet.
            let waitMilliseconds = Int32(max(0, min(50, (deadline - clock.now) / .milliseconds(1))))
            guard poll(&polled, nfds_t(polled.count), waitMilliseconds) > 0 else { continue }

            for entry in polled where entry.revents != 0 {
                if entry.fd == child.stdin {
                    if written < pendingInput.count {
                        let count = pendingInput[written...].withUnsafeBytes {
                            writeIgnoringSIGPIPE(entry.fd, $0.baseAddress!, $0.count)
                        }
                        if count > 0 { written += count }
                        if count < 0 && errno != EAGAIN && errno != EINTR { written = pendingInput.count }
                    }
                    if written >= pendingInput.count {
                        close(entry.fd)
                        child.stdin = nil
                    }
                } else if entry.fd == child.stdout {
                    if !drain(entry.fd, into: &stdout) { close(entry.fd); child.stdout = -1 }
                } else if entry.fd == child.stderr {
                    if !drain(entry.fd, into: &stderr) { close(entry.fd); child.stderr = -1 }
                }
            }
        }
    }

    /// Resolves a program name on `PATH`; a name containing "/" is returned as-is if it is executable.
    public static func which(_ name: String) -> String? {
        func isExecutableFile(_ path: String) -> Bool {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && access(path, X_OK) == 0
        }
        if name.contains("/") { return isExecutableFile(name) ? name : nil }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return searchPath.split(separator: ":").map { "\($0)/\(name)" }.first(where: isExecutableFile)
    }

    /// Reads what is available; returns false at end of file (or on a read error).
    private static func drain(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return false
            } else {
                return errno == EAGAIN || errno == EINTR
            }
        }
    }

    /// Waits for (or, non-blocking, checks on) the child; returns its shell-style exit status once it ended.
    private static func reap(_ pid: pid_t, blocking: Bool) -> Int32? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if result == pid { break }
            if result == -1 && errno == EINTR { continue }
            return nil
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Writes to a pipe whose reader may have gone away without letting SIGPIPE kill this process,
    /// and without changing the process-wide disposition: SIGPIPE is blocked on this thread for the
    /// write and a SIGPIPE the write raised is consumed before unblocking (the technique libpq uses).
    private static func writeIgnoringSIGPIPE(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var previousMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previousMask)
        var alreadyPending = sigset_t()
        sigpending(&alreadyPending)
        let wasPending = sigismember(&alreadyPending, SIGPIPE) == 1

        let result = write(fd, bytes, count)
        let writeErrno = errno
        if result < 0 && writeErrno == EPIPE && !wasPending {
            var noWait = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&pipeSignal, nil, &noWait)
        }
        pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        errno = writeErrno
        return result
    }
}
