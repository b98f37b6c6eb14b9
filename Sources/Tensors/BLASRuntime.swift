import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS's run-time state, and the two things the executables fix at start-up (`BLASRuntime.start`).
///
/// **Kernels.** OpenBLAS (a `DYNAMIC_ARCH` build such as Debian's) picks its kernel family ("core") from the
/// CPU model in its library constructor, before `main`. On CPUs it does not know, 0.3.21 (Debian 12) falls
/// back to "Prescott" SSE3 kernels, about 4× slower for `sgemm`/`dgemm`; `OPENBLAS_CORETYPE` overrides the
/// choice but is read only in that constructor. So when the core is such a fallback, the CPU has AVX2 + FMA
/// (or AVX-512) and the user did not set the variable, `start` sets it (`SkylakeX` with AVX-512F/BW/VL/DQ,
/// else `Haswell`, as `scripts/env.sh` does) and re-executes `/proc/self/exe` once with the same arguments.
///
/// **Threads.** OpenBLAS's pthread workers, woken by a threaded call, spin in `sched_yield` for about 0.1 s
/// afterwards, against our own threads on a 2-core machine (20–30 % of a `register`'s CPU time). Policy:
/// products and factorisations run on one BLAS thread (the caller's) unless they are big enough to repay
/// waking the others (`threads(forFlops:)`); our own kernels parallelise the rest. `CONCEPTS_BLAS_THREADS=N`
/// fixes N threads for every call, `openblas` leaves OpenBLAS's own choice (the old behaviour, for A/B).
public enum BLASRuntime {
    /// The core OpenBLAS runs, as `openblas_get_corename()` reports it (e.g. `Haswell`, `SkylakeX`, `Prescott`).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The threads OpenBLAS may use now.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Cores whose kernels use AVX2/AVX-512 (0.3.21's `DYNAMIC_ARCH` names, lower-cased): not fallbacks.
    static let vectorCores: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]

    /// Environment variable set on the re-executed process (the loop guard).
    public static let reexecMarker = "CONCEPTS_OPENBLAS_REEXEC"

    /// Test hook: `1` makes `start` treat the core as a fallback (to exercise the re-exec on CPUs OpenBLAS knows).
    public static let simulateFallbackVariable = "CONCEPTS_SIMULATE_OPENBLAS_FALLBACK"

    /// The `OPENBLAS_CORETYPE` to request for `core` on a CPU with `flags` (`/proc/cpuinfo`), or `nil`: the core
    /// uses vector kernels, the CPU has no AVX2 + FMA, the user chose a core, or we already re-executed.
    public static func coreTypeToRequest(core: String, cpuFlags: Set<String>, environment: [String: String],
                                         simulateFallback: Bool = false) -> String? {
        if let chosen = environment["OPENBLAS_CORETYPE"], !chosen.isEmpty { return nil }
        if environment[reexecMarker] != nil { return nil }
        if vectorCores.contains(core.lowercased()) && !simulateFallback { return nil }
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(cpuFlags.contains) { return "SkylakeX" }
        if cpuFlags.contains("avx2") && cpuFlags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The CPU flags of `/proc/cpuinfo`'s first `flags` line (empty where there is none).
    public static func cpuFlags(cpuinfo path: String = "/proc/cpuinfo") -> Set<String> {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let text = line {
            let string = String(cString: text)
            if string.hasPrefix("flags") {
                return Set(string.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ":" }).dropFirst().map(String.init))
            }
        }
        return []
    }

    /// Start-up of an executable (call first in `main`): re-executes with `OPENBLAS_CORETYPE` when OpenBLAS fell
    /// back to generic kernels (see the type's documentation; returns only when it did not, or `execv` failed),
    /// then applies the thread policy.
    public static func start() {
        let environment = currentEnvironment()
        let simulate = environment[simulateFallbackVariable] == "1"
        if let core = coreTypeToRequest(core: coreName, cpuFlags: cpuFlags(), environment: environment, simulateFallback: simulate) {
            setenv("OPENBLAS_CORETYPE", core, 1)
            setenv(reexecMarker, "1", 1)
            execv("/proc/self/exe", CommandLine.unsafeArgv)
            // Still here: exec failed; run on with the kernels we have (and do not leave the marker behind).
            unsetenv("OPENBLAS_CORETYPE")
            unsetenv(reexecMarker)
        }
        threads(forFlops: 0)
    }

    /// `OPENBLAS_CORETYPE` as this process sees it (`nil`: unset).
    public static var environmentCoreType: String? { getenv("OPENBLAS_CORETYPE").map { String(cString: $0) } }

    /// Whether `OPENBLAS_CORETYPE` was set by `start` (this process is the re-executed one).
    public static var coreTypeSetAtStart: Bool { getenv(reexecMarker) != nil }

    /// Products of at least this many flops (2·m·n·k) use every BLAS thread: ≥ ~40 ms on one core here, so
    /// waking the workers (and their ~0.1 s of spinning afterwards) costs little against the time halved.
    public static let parallelFlops = 4e9

    private enum Policy { case automatic, fixed(Int32), openblas }

    private static let policy: Policy = {
        guard let value = getenv("CONCEPTS_BLAS_THREADS").map({ String(cString: $0) }), !value.isEmpty else { return .automatic }
        if value == "openblas" { return .openblas }
        if let count = Int32(value), count > 0 { return .fixed(count) }
        return .automatic
    }()

    /// The machine's processors (OpenBLAS's own default thread count).
    private static let processors = Int32(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// The threads the automatic policy gives a call of about `flops` floating-point operations.
    /// `threshold`: where all cores start to pay (`parallelFlops` for isolated calls; lower for callers whose
    /// products run back to back, so the workers never go idle between them).
    public static func automaticThreads(forFlops flops: Double, parallelFrom threshold: Double = parallelFlops) -> Int {
        flops >= threshold ? Int(processors) : 1
    }

    /// Sets OpenBLAS's threads for a call of about `flops` floating-point operations (see the type's
    /// documentation); every BLAS/LAPACK call in `Tensors` goes through here first.
    public static func threads(forFlops flops: Double, parallelFrom threshold: Double = parallelFlops) {
        switch policy {
        case .openblas: return
        case .fixed(let count): openblas_set_num_threads(count)
        case .automatic: openblas_set_num_threads(Int32(automaticThreads(forFlops: flops, parallelFrom: threshold)))
        }
    }

    private static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        for name in ["OPENBLAS_CORETYPE", reexecMarker, simulateFallbackVariable] {
            if let value = getenv(name) { result[name] = String(cString: value) }
        }
        return result
    }
}
