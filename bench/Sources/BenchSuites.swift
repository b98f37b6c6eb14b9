import Foundation

/// One benchmark suite: a name and a function returning its figures (JSON-serialisable values).
struct BenchSuite: Sendable {
    let name: String
    let run: @Sendable () throws -> [String: Any]
}

/// Every suite, in run order. Each suite lives in its own `Bench+Name.swift`; add one line here.
enum BenchSuites {
    static let all: [BenchSuite] = [
        AttentionBench.suite,
        BlobsBench.suite,
        CaptionsBench.suite,
        ComposeBench.suite,
        CompressionBench.suite,
        GenerationBench.suite,
        LinearAlgebraBench.suite,
        RegistryBench.suite,
        SafetensorsBench.suite,
        TextEncoderBench.suite,
        TruncatedSVDBench.suite,
    ]
}

/// Wall-clock seconds of `body`.
func measureSeconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Median of `runs` timings of `body`, in seconds.
func medianSeconds(runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<runs { times.append(try measureSeconds(body)) }
    times.sort()
    return times[times.count / 2]
}

/// User + system CPU seconds of this process so far (all threads).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_utime.seconds + usage.ru_stime.seconds
}

extension timeval {
    /// The interval in seconds (as `rusage` reports CPU times).
    var seconds: Double { Double(tv_sec) + Double(tv_usec) / 1e6 }
}
