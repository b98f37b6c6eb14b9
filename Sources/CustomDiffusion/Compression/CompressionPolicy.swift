/// How a layer's `ΔW` is stored (Kumari et al., CVPR 2023, Appendix B; `energy:R` is the rule of the
/// original `src/compress.py`; docs/METHOD.md §5). Parsed from the CLI's `--compress`.
///
/// | policy | stored as | rank |
/// | --- | --- | --- |
/// | `lossless` | dense F32 `ΔW` (+ exact-reconstruction patches) | full |
/// | `fp16` | dense F16 `ΔW` | full |
/// | `energy:R` | F16 factors | the original rule: keep `σ₁…σᵢ` while `Σ_{j≤i} σⱼ / Σ σ ≤ R` (at least 1) |
/// | `rank:N` | F16 factors | `min(N, rank)` |
/// | `error:E` | F16 factors | smallest `r` with `‖ΔW − ΔWᵣ‖_F ≤ E·‖ΔW‖_F` |
///
/// Factored policies fall back to dense F16 when factors would take more bytes than the dense matrix.
public enum CompressionPolicy: Sendable, Equatable, CustomStringConvertible {
    case lossless
    case fp16
    /// Keep singular values until their cumulative sum exceeds `R` of the total (the original code: `R = 0.6`).
    case energy(Double)
    case rank(Int)
    /// Largest relative Frobenius error allowed per layer.
    case error(Double)

    /// The default: `error:0.05` — every layer's `ΔW` within 5 % (Frobenius) of the fine-tune's change,
    /// factors in fp16. On SD1.x-shaped deltas with a realistic spectrum this stores well under the
    /// product goal of 15 MB per concept (see the `compression` bench), bounds the effect on the merge
    /// (targets `C·W′ᵀ` move by at most 5 % of `C·ΔWᵀ`), and unlike `energy:0.6` says how far the stored
    /// delta may be from the trained one.
    public static let `default` = CompressionPolicy.error(0.05)

    /// Parses `lossless`, `fp16`, `energy:R` (0 < R ≤ 1), `rank:N` (N ≥ 1), `error:E` (0 ≤ E < 1).
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first?.lowercased(), parts.count) {
        case ("lossless", 1): self = .lossless
        case ("fp16", 1): self = .fp16
        case ("energy", 2):
            guard let r = Double(parts[1]), r > 0, r <= 1 else { throw ConceptError.invalidPolicy(text) }
            self = .energy(r)
        case ("rank", 2):
            guard let n = Int(parts[1]), n >= 1 else { throw ConceptError.invalidPolicy(text) }
            self = .rank(n)
        case ("error", 2):
            guard let e = Double(parts[1]), e >= 0, e < 1 else { throw ConceptError.invalidPolicy(text) }
            self = .error(e)
        default:
            throw ConceptError.invalidPolicy(text)
        }
    }

    /// The policy in the syntax `init(parsing:)` reads (`energy:0.6`).
    public var description: String {
        switch self {
        case .lossless: "lossless"
        case .fp16: "fp16"
        case .energy(let r): "energy:\(Self.format(r))"
        case .rank(let n): "rank:\(n)"
        case .error(let e): "error:\(Self.format(e))"
        }
    }

    private static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}
