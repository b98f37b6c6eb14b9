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
        let n = max(1, min(parts ?? threads, count / max(1, minimum)))
        forEachPart(count, parts: n) { _, range in body(range) }
    }

    /// Runs `body(p, range)` for the `parts` parts p = 0 ..< parts of `0..<count` (part p is
    /// `count·p/parts ..< count·(p+1)/parts`; parts ≤ count), concurrently unless there is one part or one thread.
    static func forEachPart(_ count: Int, parts: Int, _ body: (Int, Range<Int>) -> Void) {
        let n = max(1, min(parts, count))
        guard count > 0 else { return }
        if n == 1 || threads == 1 {
            for part in 0..<n { body(part, (count * part / n)..<(count * (part + 1) / n)) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // The parts touch disjoint ranges of the buffers the caller captured.
            nonisolated(unsafe) let work = escapable
            DispatchQueue.concurrentPerform(iterations: n) { part in
                work(part, (count * part / n)..<(count * (part + 1) / n))
            }
        }
    }
}
