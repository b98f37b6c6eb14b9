import Dispatch
import Foundation

/// Our kernels' share of the cores: the element-wise and transform kernels between the products (norms, GEGLU,
/// Winograd transforms, fp16 widening, attention) split their work into contiguous parts run at once, one per
/// core, while OpenBLAS parallelises the products itself.
enum Parallel {
    /// Online processors (`CONCEPTS_KERNEL_THREADS=N` caps them; 1 runs everything on the caller's thread).
    static let threads: Int = {
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        if let value = ProcessInfo.processInfo.environment["CONCEPTS_KERNEL_THREADS"], let n = Int(value), n > 0 {
            return min(n, cores)
        }
        return cores
    }()

    /// Runs `body` on the parts of `0..<count` (contiguous, near-equal, each at least `minimum` long unless
    /// `count` is smaller, at most `parts` of them or one per core), concurrently; returns when all are done.
    static func forEach(_ count: Int, minimum: Int = 1, parts: Int? = nil, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let wanted = min(parts ?? threads, count / max(1, minimum))
        let n = max(1, wanted)
        if n == 1 || threads == 1 { body(0..<count); return }
        withoutActuallyEscaping(body) { escapable in
            // The parts touch disjoint ranges of the buffers the caller captured.
            nonisolated(unsafe) let work = escapable
            DispatchQueue.concurrentPerform(iterations: n) { part in
                work((count * part / n)..<(count * (part + 1) / n))
            }
        }
    }
}
