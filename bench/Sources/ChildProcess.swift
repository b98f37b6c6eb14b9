import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One whole child process, timed from the outside: `posix_spawn`, then `wait4`, whose `rusage` is
/// that child's own (peak RSS `ru_maxrss` in KiB on Linux, user and system CPU time). Foundation's
/// `Process` reaps its children itself, and `getrusage(RUSAGE_CHILDREN)` only gives the maximum over
/// every child waited for so far, so a large `base add` would mask the peak of every later command.
///
/// stdout and stderr go to temporary files (a pipe could fill up and block the child) and are read
/// back after it exits. The environment is the bench's own (so `OPENBLAS_CORETYPE` from
/// `scripts/env.sh` reaches `concepts`).
struct ChildProcess {
    struct Outcome {
        var status: Int32
        var stdout: Data
        var stderr: Data
        /// Wall-clock seconds from spawn to exit.
        var seconds: Double
        var userSeconds: Double
        var systemSeconds: Double
        var maxRSSBytes: Int

        var cpuSeconds: Double { userSeconds + systemSeconds }
        var maxRSSMegabytes: Double { Double(maxRSSBytes) / 1_048_576 }

        /// stdout parsed as one JSON object (`--json` output; also a whole multi-line JSON document).
        func json() throws -> [String: Any] {
            guard let object = try? JSONSerialization.jsonObject(with: stdout) as? [String: Any] else {
                throw Failure.badOutput(String(decoding: stdout.prefix(400), as: UTF8.self))
            }
            return object
        }

        /// The last stdout line that parses as a JSON object (for scripts that print more than one line).
        func lastJSONLine() throws -> [String: Any] {
            for line in String(decoding: stdout, as: UTF8.self).split(separator: "\n").reversed() {
                if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] { return object }
            }
            return try json()
        }

        /// Figures shared by every timed command.
        var figures: [String: Any] {
            ["seconds": seconds, "cpu_seconds": cpuSeconds, "max_rss_mb": maxRSSMegabytes]
        }
    }

    enum Failure: Error, CustomStringConvertible {
        case spawn(executable: String, errno: Int32)
        case exit(command: String, status: Int32, stderr: String)
        case badOutput(String)
        var description: String {
            switch self {
            case .spawn(let executable, let code): "cannot start \(executable): \(String(cString: strerror(code)))"
            case .exit(let command, let status, let stderr): "`\(command)` exited with status \(status): \(stderr)"
            case .badOutput(let text): "expected JSON on stdout, got: \(text)"
            }
        }
    }

    /// Runs `executable arguments…` to completion. Throws when it cannot start, or (if `check`) when it
    /// exits with a non-zero status (the error quotes its stderr).
    static func run(_ executable: String, _ arguments: [String], check: Bool = true) throws -> Outcome {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bench-child-\(UUID().uuidString)")
        let outPath = scratch.path + ".out", errPath = scratch.path + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let spawned = argv.withUnsafeBufferPointer { args -> Int32 in
            guard let base = args.baseAddress else { return EINVAL }
            return posix_spawnp(&pid, executable, &actions, nil, base, environ)
        }
        guard spawned == 0 else { throw Failure.spawn(executable: executable, errno: spawned) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw Failure.spawn(executable: executable, errno: errno) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // WIFEXITED / WEXITSTATUS (macros Swift does not import): exited when the low 7 bits are 0.
        let exitStatus: Int32 = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let outcome = Outcome(
            status: exitStatus,
            stdout: FileManager.default.contents(atPath: outPath) ?? Data(),
            stderr: FileManager.default.contents(atPath: errPath) ?? Data(),
            seconds: seconds,
            userSeconds: usage.ru_utime.seconds,
            systemSeconds: usage.ru_stime.seconds,
            maxRSSBytes: Int(usage.ru_maxrss) * 1024)
        if check, exitStatus != 0 {
            throw Failure.exit(command: ([executable] + arguments).joined(separator: " "), status: exitStatus,
                               stderr: String(decoding: outcome.stderr.suffix(2000), as: UTF8.self))
        }
        return outcome
    }

    /// True when `executable arguments…` runs and exits 0 (used to probe for python3 with torch).
    static func succeeds(_ executable: String, _ arguments: [String]) -> Bool {
        (try? run(executable, arguments, check: false))?.status == 0
    }
}
