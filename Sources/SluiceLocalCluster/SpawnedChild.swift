import Foundation

/// A child process started with `posix_spawn`, connected to the parent through pipes.
///
/// Hygiene guarantees, which matter because servers started through here (postmaster via pg_ctl) live
/// long and would otherwise keep the parent's sockets open:
/// - every descriptor other than 0, 1 and 2 is closed in the child (`closefrom(3)` as a spawn action);
/// - the parent's ends of the pipes are close-on-exec and non-blocking;
/// - the child gets an empty signal mask and default dispositions for the usual job-control signals,
///   even if the parent blocks or ignores them;
/// - the child leads its own process group, so a timeout can kill it together with its descendants
///   (`runuser` and the program it runs).
struct SpawnedChild {
    let pid: pid_t
    /// Write end of the child's stdin, or nil when stdin is `/dev/null`.
    var stdin: Int32?
    var stdout: Int32
    var stderr: Int32

    static func spawn(
        path: String, arguments: [String], environment: [String: String],
        currentDirectory: String?, withInput: Bool
    ) throws -> SpawnedChild {
        func failure(_ what: String, _ code: Int32) -> LocalClusterError {
            .spawnFailed(program: path, reason: "\(what): \(String(cString: strerror(code)))")
        }

        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { childEnds.forEach { close($0) } }
        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else {
                parentEnds.forEach { close($0) }
                throw failure("pipe", errno)
            }
            // `pipe2(O_CLOEXEC)` is not imported into Swift; the short window before this is harmless
            // for children spawned here, which close everything above stderr anyway.
            fds.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        let stdinPipe = withInput ? try makePipe() : nil
        if let stdinPipe { parentEnds.append(stdinPipe.write); childEnds.append(stdinPipe.read) }
        let stdoutPipe = try makePipe()
        parentEnds.append(stdoutPipe.read); childEnds.append(stdoutPipe.write)
        let stderrPipe = try makePipe()
        parentEnds.append(stderrPipe.read); childEnds.append(stderrPipe.write)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdinPipe {
            posix_spawn_file_actions_adddup2(&actions, stdinPipe.read, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe.write, 2)
        GlibcSpawnExtensions.closeFrom(&actions, 3)
        if let currentDirectory {
            let code = GlibcSpawnExtensions.changeDirectory(&actions, currentDirectory)
            guard code == 0 else {
                parentEnds.forEach { close($0) }
                throw failure("working directory \(currentDirectory)", code)
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard code == 0 else {
            parentEnds.forEach { close($0) }
            throw failure("posix_spawn", code)
        }
        for fd in parentEnds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return SpawnedChild(pid: pid, stdin: stdinPipe?.write, stdout: stdoutPipe.read, stderr: stderrPipe.read)
    }
}

/// glibc spawn file actions that Swift's Glibc module does not import (they are GNU extensions),
/// looked up at run time. `addclosefrom_np` exists since glibc 2.34, `addchdir_np` since 2.29.
private enum GlibcSpawnExtensions {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static let addCloseFrom = symbol("posix_spawn_file_actions_addclosefrom_np", as: CloseFrom.self)
    private static let addChangeDirectory = symbol("posix_spawn_file_actions_addchdir_np", as: ChangeDirectory.self)

    private static func symbol<F>(_ name: String, as type: F.Type) -> F? {
        guard let handle = dlopen(nil, RTLD_NOW) else { return nil }
        defer { dlclose(handle) }
        return dlsym(handle, name).map { unsafeBitCast($0, to: type) }
    }

    /// Closes every descriptor >= `lowest` in the child. Without `closefrom_np` (glibc < 2.34), the
    /// descriptors open in the parent right now are closed one by one instead.
    static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) {
        if let closeFrom = addCloseFrom {
            _ = closeFrom(actions, lowest)
            return
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap(Int32.init) where fd >= lowest {
            posix_spawn_file_actions_addclose(actions, fd)
        }
    }

    /// Makes the child start in `directory`; returns an errno value (ENOSYS when unsupported).
    static func changeDirectory(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ directory: String)
        -> Int32
    {
        guard let changeDirectory = addChangeDirectory else {
            return ENOSYS
        }
        return changeDirectory(actions, directory)
    }
}
