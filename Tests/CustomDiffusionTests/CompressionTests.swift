import Foundation
import Testing
@testable import CustomDiffusion

@Suite("Compression")
struct CompressionTests {
    @Test("policies parse and print back", arguments: ["lossless", "fp16", "energy:0.6", "rank:8", "error:0.05", "error:0"])
    func parsing(text: String) throws {
        #expect(try CompressionPolicy(parsing: text).description == text)
    }

    @Test("bad policies are refused", arguments: ["", "energy", "energy:0", "energy:1.5", "rank:0", "rank:x", "error:1", "error:-0.1", "zip"])
    func badPolicies(text: String) {
        #expect(throws: ConceptError.invalidPolicy(text)) { try CompressionPolicy(parsing: text) }
    }

    /// Tolerance 2e-3 absolute on relative errors: fp16 rounding of the factors (≤ 2⁻¹¹ relative per entry).
    @Test("on the tiny fine-tune every policy's measured error matches the golden float64 SVD")
    func goldenPolicies() throws {
        let golden = try Fixtures.goldenDeltas("cat.safetensors").deltas
        for (key, g) in try Fixtures.policyGoldens() {
            let delta = try #require(golden[key])
            let energy = try DeltaCompressor.compress(delta, policy: .energy(0.6))
            #expect(energy.rank == max(1, g.energy.rank), "\(key)")
            let rank2 = try DeltaCompressor.compress(delta, policy: .rank(2))
            #expect(abs(rank2.relativeError - g.rank2.relative_error) < 2e-3, "\(key)")
            let bounded = try DeltaCompressor.compress(delta, policy: .error(0.05))
            #expect(bounded.relativeError <= 0.05)
            if case .factors = bounded.storage { #expect(bounded.rank == g.error005.rank, "\(key)") }
            // the measured error is the error of what is stored
            #expect(abs(relativeDifference(try bounded.reconstruct(), delta) - bounded.relativeError) < 1e-9)
            let lossless = try DeltaCompressor.compress(delta, policy: .lossless)
            #expect(lossless.relativeError == 0)
            #expect(bitwiseEqual(try lossless.reconstruct().storage, delta.storage))
            let half = try DeltaCompressor.compress(delta, policy: .fp16)
            #expect(half.relativeError < 4.9e-4 && half.relativeError > 0)
            #expect(abs(relativeDifference(try half.reconstruct(), delta) - half.relativeError) < 1e-9)
        }
    }

    /// An SD1-sized ΔW = U·diag(σ)·Vᵀ with a known spectrum: 12 strong directions + a decaying tail.
    static func synthetic(rows: Int, cols: Int, seed: UInt64) throws -> (Matrix<Float>, [Double]) {
        var rng = SplitMix64(seed: seed)
        let k = min(rows, cols)
        let u = try TruncatedSVD.orthonormalize(Matrix(rows: rows, cols: k, storage: (0..<(rows * k)).map { _ in Float(rng.nextGaussian()) }))
        let v = try TruncatedSVD.orthonormalize(Matrix(rows: cols, cols: k, storage: (0..<(cols * k)).map { _ in Float(rng.nextGaussian()) }))
        let sigma: [Double] = (0..<k).map { (i: Int) -> Double in
            i < 12 ? 1.0 / Double(i + 1) : 0.02 * exp(-Double(i) / 60.0)
        }
        var us = u
        for i in 0..<rows { for j in 0..<k { us[i, j] *= Float(sigma[j]) } }
        return (Matrix.matmul(us, v, transposeB: true), sigma)
    }

    static func tailError(_ sigma: [Double], rank: Int) -> Double {
        let tail: Double = sigma.dropFirst(rank).reduce(0.0) { $0 + $1 * $1 }
        let all: Double = sigma.reduce(0.0) { $0 + $1 * $1 }
        return (tail / all).squareRoot()
    }

    @Test("SD1-sized deltas (randomized path): rank, energy and error policies against the known spectrum",
          arguments: [(320, 768), (1280, 768)])
    func sdSized(shape: (Int, Int)) throws {
        let (delta, sigma) = try Self.synthetic(rows: shape.0, cols: shape.1, seed: UInt64(shape.0))
        let rank8 = try DeltaCompressor.compress(delta, policy: .rank(8))
        #expect(rank8.rank == 8)
        #expect(abs(rank8.relativeError - Self.tailError(sigma, rank: 8)) < 1e-3 * Self.tailError(sigma, rank: 8) + 5e-4)

        let energy = try DeltaCompressor.compress(delta, policy: .energy(0.6))
        #expect(energy.rank == DeltaCompressor.energyRank(sigma, ratio: 0.6))

        let bounded = try DeltaCompressor.compress(delta, policy: .error(0.05))
        let optimal = (0...sigma.count).first { Self.tailError(sigma, rank: $0) <= 0.05 }!
        #expect(bounded.relativeError <= 0.05)
        #expect(bounded.rank >= optimal && bounded.rank <= optimal + 2)
        #expect(bounded.storedBytes == 2 * bounded.rank * (shape.0 + shape.1))
    }

    @Test("the original energy rule, with at least one value kept")
    func energyRule() {
        #expect(DeltaCompressor.energyRank([3, 2, 1, 1, 1, 1, 1], ratio: 0.6) == 3)  // 0.3, 0.5, 0.6 ≤ 0.6, 0.7 > 0.6
        #expect(DeltaCompressor.energyRank([10, 1, 1], ratio: 0.6) == 1)  // the original keeps 0 here
        #expect(DeltaCompressor.energyRank([0, 0], ratio: 0.6) == 0)
    }

    @Test("factors that would not save space are stored dense fp16")
    func denseFallback() throws {
        let (delta, _) = try Self.synthetic(rows: 8, cols: 32, seed: 7)
        let c = try DeltaCompressor.compress(delta, policy: .rank(8))
        guard case .dense(let t) = c.storage else { Issue.record("expected dense storage"); return }
        #expect(t.dtype == .float16)
    }

    @Test("zero delta: rank 0, no error")
    func zero() throws {
        let c = try DeltaCompressor.compress(Matrix(zeros: 8, 32), policy: .error(0.05))
        #expect(c.rank == 0 && c.relativeError == 0)
        #expect(try c.reconstruct().maxAbs == 0)
    }

    @Test("lossless in → bit-exact W′ out, even where W′ − W0 rounds in Float32")
    func losslessExact() throws {
        var rng = SplitMix64(seed: 3)
        let n = 64 * 48
        // Where a weight of size ~10 is tuned to ~1e-4, W′ − W0 rounds to W0's ulp and W0 + ΔW misses W′.
        var baseValues: [Float] = [], tunedValues: [Float] = []
        for i in 0..<n {
            let large = i % 3 == 0
            let w0 = Float(rng.nextGaussian()) * (large ? 10 : 1e-3)
            baseValues.append(w0)
            tunedValues.append(large ? Float(rng.nextGaussian()) * 1e-4 : w0 + Float(rng.nextGaussian()) * 1e-4)
        }
        let base = Matrix<Float>(rows: 64, cols: 48, storage: baseValues)
        let tuned = Matrix<Float>(rows: 64, cols: 48, storage: tunedValues)
        let naive = base + (tuned - base)
        #expect(!bitwiseEqual(naive.storage, tuned.storage))  // the problem is real
        let c = try DeltaCompressor.compress(finetuned: tuned, base: base, policy: .lossless)
        #expect((c.patches?.count ?? 0) > 0)
        #expect(bitwiseEqual(try c.applied(to: base).storage, tuned.storage))
    }

    @Test("a NaN or infinite ΔW is refused as non-finite under every policy", arguments: ["lossless", "fp16", "energy:0.6", "rank:2", "error:0.05"])
    func nonFinite(policy text: String) throws {
        let policy = try CompressionPolicy(parsing: text)
        var nan = Matrix<Float>(zeros: 4, 6)
        nan.storage[7] = .nan
        #expect(throws: ConceptError.nonFinite(tensor: "ΔW", path: "")) { try DeltaCompressor.compress(nan, policy: policy) }
        // Finite weights whose difference overflows Float32.
        let tuned = Matrix<Float>(rows: 1, cols: 2, storage: [3e38, 0]), base = Matrix<Float>(rows: 1, cols: 2, storage: [-3e38, 0])
        #expect(throws: ConceptError.nonFinite(tensor: "ΔW", path: "")) { try DeltaCompressor.compress(finetuned: tuned, base: base, policy: policy) }
        #expect(ConceptError.nonFinite(tensor: "ΔW", path: "").errorDescription == "ΔW holds NaN or infinite values")
    }

    @Test("a zero ΔW: rank 0 under truncating policies, stored as it is by lossless and fp16")
    func zeroEveryPolicy() throws {
        for text in ["energy:0.6", "rank:2", "error:0.05"] {
            let c = try DeltaCompressor.compress(Matrix(zeros: 4, 6), policy: CompressionPolicy(parsing: text))
            #expect(c.rank == 0 && c.relativeError == 0, "\(text)")
        }
        for policy in [CompressionPolicy.lossless, .fp16] {
            let c = try DeltaCompressor.compress(Matrix(zeros: 4, 6), policy: policy)
            #expect(c.rank == 4 && c.relativeError == 0, "\(policy)")
            guard case .dense = c.storage else { Issue.record("\(policy) stored factors"); continue }
        }
    }
}
