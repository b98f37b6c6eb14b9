import Foundation
import Tensors
import TextEncoder

/// `concepts-bench [SUITE…]` — runs benchmark suites and prints one JSON object
/// `{suite: {figure: value, …}, …}` on stdout. Progress goes to stderr. `make bench` runs them all.
///
/// Sizes are realistic (Stable Diffusion 1.x shapes); generated data lives under `bench/out/`
/// (git-ignored) or a temporary directory. Every suite's figures include `kernel_path` (our kernels' path,
/// `CONCEPTS_KERNELS=avx2|generic` lowers it) and `openblas_core` (`openblas_get_corename()`), after the same
/// start-up fix of OpenBLAS's kernels and threads as `concepts` (`BLASRuntime.start`).
BLASRuntime.start()
let requested = Array(CommandLine.arguments.dropFirst())
// The `generation` suite's child process (one per kernel path, for its own peak RSS).
if requested == ["generation-worker"] {
    do { try GenerationBench.worker() } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
let unknown = requested.filter { name in !BenchSuites.all.contains { $0.name == name } }
if !unknown.isEmpty {
    FileHandle.standardError.write(Data("error: unknown suite(s) \(unknown.joined(separator: ", ")); known: \(BenchSuites.all.map(\.name).joined(separator: ", "))\n".utf8))
    exit(64)
}
var report: [String: Any] = [:]
for suite in BenchSuites.all where requested.isEmpty || requested.contains(suite.name) {
    FileHandle.standardError.write(Data("bench: \(suite.name)…\n".utf8))
    do {
        var figures = try suite.run()
        figures["kernel_path"] = KernelPath.current.name
        figures["openblas_core"] = BLASRuntime.coreName
        report[suite.name] = figures
    } catch {
        report[suite.name] = ["error": String(describing: error), "kernel_path": KernelPath.current.name, "openblas_core": BLASRuntime.coreName]
    }
}
let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
FileHandle.standardOutput.write(data + Data("\n".utf8))
