import CKernels
import Foundation
import Tensors

/// Suite `attention`: the fused attention kernel `ck_attention` alone, at Stable Diffusion 1.x UNet shapes (512²
/// image, 64² latents, batch 2 with guidance, 8 heads): self-attention over 4096 tokens of head width 40, 1024 × 80
/// and 256 × 160, the cross-attentions of the same levels (77 text tokens), and the VAE's one-head 4096 × 512.
///
/// For every kernel path the CPU has (`CONCEPTS_KERNELS` switched per path), each shape runs as `Attention.swift`
/// runs it: batch × heads (sample, head) pairs split into contiguous runs on 2 threads, each with its own scratch.
/// Figures per shape and path: `seconds` (median of 3 after a warm-up) for the whole layer, `gflops` =
/// 4·pairs·n·m·d / seconds (Q·Kᵀ and P·V, 2 flops per multiply-add; the exponentials are not counted), and
/// `gflops_per_core` = the same flops over the process's CPU seconds in those runs (user + system, all threads: on a
/// machine shared with other work this is the steadier figure, as waiting for a core is not counted).
enum AttentionBench {
    struct Shape {
        let name: String
        let pairs: Int  // batch × heads
        let rows: Int  // query tokens
        let keys: Int
        let headDim: Int
    }

    static let shapes: [Shape] = [
        Shape(name: "self 4096x4096 d40 (64² latents)", pairs: 16, rows: 4096, keys: 4096, headDim: 40),
        Shape(name: "self 1024x1024 d80 (32² latents)", pairs: 16, rows: 1024, keys: 1024, headDim: 80),
        Shape(name: "self 256x256 d160 (16² latents)", pairs: 16, rows: 256, keys: 256, headDim: 160),
        Shape(name: "cross 4096x77 d40", pairs: 16, rows: 4096, keys: 77, headDim: 40),
        Shape(name: "cross 1024x77 d80", pairs: 16, rows: 1024, keys: 77, headDim: 80),
        Shape(name: "cross 256x77 d160", pairs: 16, rows: 256, keys: 77, headDim: 160),
        Shape(name: "vae 4096x4096 d512", pairs: 1, rows: 4096, keys: 4096, headDim: 512),
    ]
    static let threads = 2, runs = 3

    static let suite = BenchSuite(name: "attention") {
        var paths = ["avx2", "generic"]
        if ck_supported_instruction_set() == CK_AVX512 { paths.insert("avx512", at: 0) }
        if ck_supported_instruction_set() == CK_GENERIC { paths = ["generic"] }
        let saved = ProcessInfo.processInfo.environment["CONCEPTS_KERNELS"]
        defer { if let saved { setenv("CONCEPTS_KERNELS", saved, 1) } else { unsetenv("CONCEPTS_KERNELS") } }
        var figures: [String: Any] = ["threads": threads, "runs": runs]
        for path in paths where path != "generic" {  // the portable path does not use ck_attention (sgemm + softmax)
            setenv("CONCEPTS_KERNELS", path, 1)
            var perShape: [String: Any] = [:]
            for shape in shapes {
                let (seconds, cpu) = time(shape)
                let flops = 4 * Double(shape.pairs) * Double(shape.rows) * Double(shape.keys) * Double(shape.headDim)
                perShape[shape.name] = ["seconds": seconds, "gflops": flops / seconds / 1e9,
                                        "gflops_per_core": flops / cpu / 1e9]
            }
            figures[path] = perShape
        }
        return figures
    }

    /// Deterministic values in [−2, 2) (their size is that of SD's unit-variance activations).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in 2 * rng.nextSymmetric() }
    }

    /// Median wall seconds of one whole layer of `shape` on `threads` threads, and the mean CPU seconds per layer.
    static func time(_ shape: Shape) -> (Double, Double) {
        let inner = shape.pairs * shape.headDim  // every pair side by side, as heads are in a row of Q
        let q = values(shape.rows * inner, seed: 1), k = values(shape.keys * inner, seed: 2)
        let v = values(shape.keys * inner, seed: 3)
        var out = [Float](repeating: 0, count: shape.rows * inner)
        let perPart = ck_attention_scratch_count(Int32(shape.keys), Int32(shape.headDim))
        var scratch = [Float](repeating: 0, count: threads * perPart)
        let scale = 1 / Float(shape.headDim).squareRoot()
        let parts = min(threads, shape.pairs)
        let rowSplits = shape.pairs < threads ? threads : 1  // one pair (the VAE): split its rows
        return q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { out in
                        scratch.withUnsafeMutableBufferPointer { scratch in
                            let pointers = Pointers(q: q.baseAddress!, k: k.baseAddress!, v: v.baseAddress!,
                                                    out: out.baseAddress!, scratch: scratch.baseAddress!)
                            let items = shape.pairs * rowSplits, workers = max(parts, min(threads, items))
                            let layer = {
                                DispatchQueue.concurrentPerform(iterations: workers) { part in
                                    let work = pointers.scratch + part * perPart
                                    for item in (items * part / workers)..<(items * (part + 1) / workers) {
                                        let pair = item / rowSplits, split = item % rowSplits
                                        let start = shape.rows * split / rowSplits, end = shape.rows * (split + 1) / rowSplits
                                        let column = pair * shape.headDim
                                        ck_attention(pointers.q + start * inner + column, Int32(inner), Int32(end - start),
                                                     pointers.k + column, pointers.v + column, Int32(inner), Int32(shape.keys),
                                                     Int32(shape.headDim), scale, pointers.out + start * inner + column,
                                                     Int32(inner), work)
                                    }
                                }
                            }
                            layer()
                            let cpuStart = processCPUSeconds()
                            let wall = medianSeconds(runs: runs, layer)
                            return (wall, (processCPUSeconds() - cpuStart) / Double(runs))
                        }
                    }
                }
            }
        }
    }

    /// The buffers, shared read-only (Q, K, V) or by disjoint columns (out) and parts (scratch) among the threads.
    struct Pointers: @unchecked Sendable {
        let q: UnsafePointer<Float>
        let k: UnsafePointer<Float>
        let v: UnsafePointer<Float>
        let out: UnsafeMutablePointer<Float>
        let scratch: UnsafeMutablePointer<Float>
    }
}
