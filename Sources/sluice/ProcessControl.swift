import Glibc

/// Why Sluice cannot run as asked; printed as is.
struct RunFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The pid file: written once Sluice listens, removed at exit if it still names this process
/// (after an online restart it names the successor).
enum PidFile {
    struct WriteError: Error, CustomStringConvertible {
        let path: String
        var description: String { "cannot write pidfile \(path): \(String(cString: strerror(errno)))" }
    }

    static func write(to path: String) throws {
        let text = "\(getpid())\n"
        guard let file = fopen(path, "w") else { throw WriteError(path: path) }
        defer { fclose(file) }
        guard fputs(text, file) >= 0 else { throw WriteError(path: path) }
    }

    /// The Sluice the file names, if it still runs (and is not this one). A pid that now
    /// belongs to another program (reused after a crash left the file behind) does not count.
    static func runningProcess(named path: String) -> pid_t? {
        guard let pid = read(path), pid != getpid(), kill(pid, 0) == 0 || errno == EPERM, isSluice(pid) else { return nil }
        return pid
    }

    /// Whether `pid` runs a program of Sluice's name, or of this process's own (an install that
    /// renamed the binary, to replace PgBouncer's, say).
    private static func isSluice(_ pid: pid_t) -> Bool {
        guard let name = programName(of: "\(pid)") else { return false }
        return name == "sluice" || name == programName(of: "self")
    }

    /// The kernel's name for the program a process runs (`/proc/PID/comm`).
    private static func programName(of process: String) -> String? {
        guard let file = fopen("/proc/\(process)/comm", "r") else { return nil }
        defer { fclose(file) }
        return line(of: file)
    }

    static func remove(_ path: String) {
        if read(path) == getpid() { unlink(path) }
    }

    private static func read(_ path: String) -> pid_t? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        return line(of: file).flatMap { pid_t($0.filter { !$0.isWhitespace }) }
    }

    /// The file's first line, without its line end.
    private static func line(of file: UnsafeMutablePointer<FILE>) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `-u USER` and the `user` setting: drop root once the listeners are bound.
enum UserSwitch {
    /// Throws unless `become(name)` can succeed: the user exists, and Sluice runs as root or
    /// already as that user.
    static func check(_ name: String) throws {
        _ = try account(name)
    }

    /// The user's ids; nil when Sluice already runs as that user.
    private static func account(_ name: String) throws -> (uid: uid_t, gid: gid_t)? {
        guard let entry = getpwnam(name) else { throw RunFailure("no user \"\(name)\"") }
        let uid = entry.pointee.pw_uid
        if getuid() == uid && geteuid() == uid { return nil }
        guard geteuid() == 0 else {
            throw RunFailure("cannot switch to user \"\(name)\": Sluice does not run as root")
        }
        return (uid, entry.pointee.pw_gid)
    }

    static func become(_ name: String) throws {
        guard let (uid, gid) = try account(name) else { return }
        guard initgroups(name, gid) == 0, setgid(gid) == 0, setuid(uid) == 0 else {
            throw RunFailure("cannot switch to user \"\(name)\": \(String(cString: strerror(errno)))")
        }
    }
}

/// `-d`: carry on in a child that leaves the terminal's session. Called before the event
/// loops exist (an epoll registration of a signalfd keeps waking for the process that made it)
/// and before any thread starts (fork copies only the calling thread). The parent waits until
/// the child says it listens, so a failure to start still reaches the terminal and the exit status.
enum Daemon {
    /// The child's end of the pipe the parent waits on.
    struct Readiness {
        let descriptor: Int32

        /// Tells the parent Sluice is listening (it exits 0), and leaves the terminal.
        func listening() {
            var one: UInt8 = 1
            _ = write(descriptor, &one, 1)
            close(descriptor)
            let null = open("/dev/null", O_RDWR)
            if null >= 0 {
                for fd: Int32 in [0, 1, 2] { dup2(null, fd) }
                if null > 2 { close(null) }
            }
        }
    }

    static func detach() throws -> Readiness {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw RunFailure("pipe: \(String(cString: strerror(errno)))") }
        // Close-on-exec marks it as Sluice's own, which `closeInheritedDescriptors` keeps.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let child = fork()
        guard child >= 0 else { throw RunFailure("fork: \(String(cString: strerror(errno)))") }
        if child > 0 {
            close(ends[1])
            var byte: UInt8 = 0
            while true {
                let count = read(ends[0], &byte, 1)
                if count < 0 && errno == EINTR { continue }
                // Nothing read: the child failed to start, and said why on standard error.
                _exit(count == 1 ? 0 : 1)
            }
        }
        close(ends[0])
        _ = setsid()
        closeInheritedDescriptors()
        return Readiness(descriptor: ends[1])
    }

    /// Closes what the starting process handed down beyond the standard three (a pipe a
    /// supervisor waits on, say): every descriptor Sluice opens itself is close-on-exec, so any
    /// other is inherited.
    private static func closeInheritedDescriptors() {
        guard let directory = opendir("/proc/self/fd") else { return }
        var inherited: [Int32] = []
        let own = dirfd(directory)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = Int32(name), fd > 2, fd != own else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 { inherited.append(fd) }
        }
        closedir(directory)
        for fd in inherited { close(fd) }
    }
}
