/// Compresses one layer's `ΔW = W′ − W0` (`h × d`) by a `CompressionPolicy`: the low-rank storage of
/// Kumari et al., CVPR 2023, §4.1 and Appendix B (docs/METHOD.md §5), whose rule is `compress` in the
/// original `src/compress.py`.
///
/// Notation: `ΔW = U·diag(σ)·Vᵀ`, σ descending; `ΔW_r` its rank-`r` truncation;
/// `ε(r) = ‖ΔW − ΔW_r‖_F / ‖ΔW‖_F = √(Σ_{i≥r} σᵢ²) / ‖ΔW‖_F`.
///
/// - `energy:R` — the rule of the original `src/compress.py`: walk σ accumulating `σᵢ / Σσ` and stop at
///   the first index whose running sum exceeds `R`; the ranks *before* it are kept
///   (`r = #{i : Σ_{j≤i} σⱼ / Σσ ≤ R}`). The original can keep 0 singular values when `σ₁ > R·Σσ`;
///   here `r ≥ 1` for a non-zero `ΔW`. Needs the whole spectrum: Gram eigenvalues in Float64.
/// - `rank:N` — `r = min(N, min(h, d))`.
/// - `error:E` — the smallest `r` with `ε(r) ≤ E` (estimated on a randomized basis whose width doubles
///   until it suffices; the estimate is exact for that basis, so `r` is at most a little above optimal).
///
/// Matrices with a smaller side ≤ 128 use an exact Float64 SVD; larger ones a randomized SVD with
/// 10 oversampling columns and 2 power iterations (`TruncatedSVD`). Factors are `U_r√σ` (`h × r`) and
/// `√σ V_rᵀ` (`r × d`), stored F16; `relativeError` is measured on the rounded factors. When
/// `r·(h + d) ≥ h·d` the factors would not save space and dense F16 is stored instead.
public enum DeltaCompressor {
    static let oversampling = 10
    static let powerIterations = 2

    /// Compresses `ΔW`.
    public static func compress(_ delta: Matrix<Float>, policy: CompressionPolicy) throws -> CompressedDelta {
        let h = delta.rows, d = delta.cols, full = Swift.min(h, d)
        // Finite iff every entry is (a Float's square cannot overflow a Double): one pass instead of two.
        let squaredNorm = delta.storage.withUnsafeBufferPointer { values in
            var sum = 0.0
            for v in values { sum += Double(v) * Double(v) }
            return sum
        }
        guard squaredNorm.isFinite else { throw ConceptError.nonFinite(tensor: "ΔW", path: "") }
        // A zero ΔW under a truncating policy: rank 0 (lossless and fp16 store it as it is).
        if squaredNorm == 0, policy != .lossless, policy != .fp16 {
            return try CompressedDelta(storage: .factors(up: Matrix<Float>(zeros: h, 0).rawTensor(as: .float16),
                                                         down: Matrix<Float>(zeros: 0, d).rawTensor(as: .float16)),
                                       rows: h, cols: d, rank: 0, relativeError: 0)
        }
        let denseRank = (h * d + h + d - 1) / (h + d)  // from this rank on, factors take ≥ the dense bytes
        let svd: TruncatedSVD
        let rank: Int
        switch policy {
        case .lossless:
            return try CompressedDelta(storage: .dense(delta.rawTensor(as: .float32)), rows: h, cols: d, rank: full, relativeError: 0)
        case .fp16:
            return try dense16(delta, squaredNorm: squaredNorm)
        case .energy(let ratio):
            let sigma = full <= TruncatedSVD.exactLimit ? nil : try TruncatedSVD.singularValues(of: delta)
            if let sigma {
                rank = energyRank(sigma, ratio: ratio)
                if rank >= denseRank { return try dense16(delta, squaredNorm: squaredNorm) }
                svd = try TruncatedSVD(randomized: delta, width: rank + oversampling, powerIterations: powerIterations, squaredNorm: squaredNorm)
            } else {
                svd = try TruncatedSVD(exact: delta, squaredNorm: squaredNorm)
                rank = energyRank(svd.singularValues, ratio: ratio)
            }
        case .rank(let n):
            let r = Swift.min(n, full)
            if r >= denseRank { return try dense16(delta, squaredNorm: squaredNorm) }
            svd = full <= TruncatedSVD.exactLimit
                ? try TruncatedSVD(exact: delta, squaredNorm: squaredNorm)
                : try TruncatedSVD(randomized: delta, width: r + oversampling, powerIterations: powerIterations, squaredNorm: squaredNorm)
            rank = Swift.min(r, svd.singularValues.count)
        case .error(let e):
            let allowed = e * e * squaredNorm
            if full <= TruncatedSVD.exactLimit {
                svd = try TruncatedSVD(exact: delta, squaredNorm: squaredNorm)
                rank = (0...svd.singularValues.count).first { svd.residualEnergy(rank: $0) <= allowed } ?? full
            } else {
                var width = Swift.min(full, 48)
                var found: (TruncatedSVD, Int)?
                while found == nil {
                    let candidate = try TruncatedSVD(randomized: delta, width: width, powerIterations: powerIterations, squaredNorm: squaredNorm)
                    let usable = width >= full ? candidate.singularValues.count : Swift.max(0, candidate.singularValues.count - oversampling)
                    if let r = (0...usable).first(where: { candidate.residualEnergy(rank: $0) <= allowed }) {
                        found = (candidate, r)
                    } else if usable >= denseRank || width >= full {
                        return try dense16(delta, squaredNorm: squaredNorm)
                    } else {
                        width = Swift.min(full, width * 2)
                    }
                }
                guard let found else { return try dense16(delta, squaredNorm: squaredNorm) }  // the loop only ends with one
                (svd, rank) = found
            }
            if rank >= denseRank { return try dense16(delta, squaredNorm: squaredNorm) }
        }
        let (up, down) = svd.factors(rank: rank)
        var result = try factored(delta, up: up, down: down, dtype: .float16, squaredNorm: squaredNorm)
        if case .error(let e) = policy, result.relativeError > e {
            // fp16 rounding alone broke a very tight bound: keep the factors in F32, else store ΔW exactly.
            result = try factored(delta, up: up, down: down, dtype: .float32, squaredNorm: squaredNorm)
            if result.relativeError > e {
                result = try CompressedDelta(storage: .dense(delta.rawTensor(as: .float32)), rows: h, cols: d, rank: full, relativeError: 0)
            }
        }
        return result
    }

    /// Compresses `W′ − W0`. `lossless` also records the entries where `W0 + (W′ − W0)` misses `W′` in
    /// Float32, so `CompressedDelta.applied(to: W0)` returns `W′` bit for bit.
    public static func compress(finetuned: Matrix<Float>, base: Matrix<Float>, policy: CompressionPolicy) throws -> CompressedDelta {
        guard finetuned.rows == base.rows, finetuned.cols == base.cols else {
            throw ConceptError.shapeMismatch("fine-tuned \(finetuned.rows)×\(finetuned.cols), base \(base.rows)×\(base.cols)")
        }
        let delta = finetuned - base
        let compressed = try compress(delta, policy: policy)
        guard policy == .lossless else { return compressed }
        var indices: [Int64] = [], values: [Float] = []
        for i in 0..<delta.storage.count where base.storage[i] + delta.storage[i] != finetuned.storage[i]
            || (base.storage[i] + delta.storage[i]).bitPattern != finetuned.storage[i].bitPattern {
            indices.append(Int64(i))
            values.append(finetuned.storage[i])
        }
        guard !indices.isEmpty else { return compressed }
        let patches = CompressedDelta.ExactPatches(indices: try RawTensor.from(int64s: indices, shape: [indices.count]),
                                                   values: try RawTensor.from(floats: values, shape: [values.count]))
        return try CompressedDelta(storage: compressed.storage, rows: delta.rows, cols: delta.cols, rank: compressed.rank,
                                   relativeError: 0, patches: patches)
    }

    /// Compresses a weight as read from a concept file: full `W′` against `W0`, or given factors —
    /// which `lossless` keeps exactly as they are (F32, their own rank).
    public static func compress(_ weight: ConceptCheckpoint.Weight, base: Matrix<Float>, policy: CompressionPolicy) throws -> CompressedDelta {
        switch weight {
        case .full(let w):
            return try compress(finetuned: w, base: base, policy: policy)
        case .delta(let up, let down):
            guard up.rows == base.rows, down.cols == base.cols, up.cols == down.rows else {
                throw ConceptError.shapeMismatch("factors \(up.rows)×\(up.cols) · \(down.rows)×\(down.cols) for base \(base.rows)×\(base.cols)")
            }
            if policy == .lossless {
                return try CompressedDelta(storage: .factors(up: up.rawTensor(as: .float32), down: down.rawTensor(as: .float32)),
                                           rows: up.rows, cols: down.cols, rank: up.cols, relativeError: 0)
            }
            return try compress(Matrix.matmul(up, down), policy: policy)
        }
    }

    // MARK: Rank rules

    /// The original rule (`src/compress.py`): the number of leading σ whose running share of `Σσ` stays
    /// `≤ R` — at least 1 here (the original's loop yields 0 when `σ₁ > R·Σσ`).
    public static func energyRank(_ sigma: [Double], ratio: Double) -> Int {
        let total = sigma.reduce(0, +)
        guard total > 0 else { return 0 }
        var explained = 0.0, rank = 0
        for s in sigma {
            explained += s / total
            if explained > ratio { break }
            rank += 1
        }
        return Swift.max(1, Swift.min(rank, sigma.count))
    }

    // MARK: Storage

    static func dense16(_ delta: Matrix<Float>, squaredNorm: Double) throws -> CompressedDelta {
        let t = try delta.rawTensor(as: .float16)
        let stored = try t.floats()
        return try CompressedDelta(storage: .dense(t), rows: delta.rows, cols: delta.cols, rank: Swift.min(delta.rows, delta.cols),
                                   relativeError: relativeError(delta, stored, squaredNorm: squaredNorm))
    }

    static func factored(_ delta: Matrix<Float>, up: Matrix<Float>, down: Matrix<Float>, dtype: DType, squaredNorm: Double) throws -> CompressedDelta {
        let upT = try up.rawTensor(as: dtype), downT = try down.rawTensor(as: dtype)
        let product = Matrix.matmul(Matrix(rows: up.rows, cols: up.cols, storage: try upT.floats()),
                                    Matrix(rows: down.rows, cols: down.cols, storage: try downT.floats()))
        return try CompressedDelta(storage: .factors(up: upT, down: downT), rows: delta.rows, cols: delta.cols, rank: up.cols,
                                   relativeError: relativeError(delta, product.storage, squaredNorm: squaredNorm))
    }

    /// `‖ΔW − stored‖_F / ‖ΔW‖_F` in Float64 (0 when ΔW = 0 and nothing is stored).
    static func relativeError(_ delta: Matrix<Float>, _ stored: [Float], squaredNorm: Double) -> Double {
        var sum = 0.0
        for i in 0..<stored.count {
            let e = Double(delta.storage[i]) - Double(stored[i])
            sum += e * e
        }
        return squaredNorm > 0 ? (sum / squaredNorm).squareRoot() : (sum > 0 ? .infinity : 0)
    }
}
