import Foundation
import Tensors

/// The search index of one caption set: a memory-mapped side file under `<store>/cache/captions/`,
/// a cache of the catalog that the store rebuilds when the set's revision changes (`build`).
///
/// It holds, per caption (in id order), a 1-bit RaBitQ code for the first pass and the stored fp16
/// embedding for exact re-ranking (Gao & Long, "RaBitQ: Quantizing High-Dimensional Vectors with a
/// Theoretical Error Bound for Approximate Nearest Neighbor Search", SIGMOD 2024):
///
/// - `c` is the mean of the set's embeddings and `P` a fixed random orthogonal d × d matrix (the
///   structured FHT-Kac rotation of `CaptionRotation`, seeded), both stored in the file.
/// - For an embedding `x`: `y = P(x − c)`, `r = ‖y‖ = ‖x − c‖`, the code is the signs `s_i = sign(y_i)`
///   (bit set for `y_i ≥ 0`), and `a = Σ|y_i| / (r√d) = ⟨x̄, x̂⟩` is the cosine between the unit
///   vector `x̂ = y/r` and its quantised `x̄ = s/√d`. Per row the file stores `f_dot = r/a`,
///   `f_err = r√(1−a²)/a`, `f_add = x·c − c·c` and `r`.
/// - For a unit query `q`: `u = P(q − c)` and `q·x = (q−c)·(x−c) + q·c + x·c − c·c`.
///   1. Sign filter: `(q−c)·(x−c) = ‖u‖ r cos θ`, and each sign of `y` differs from the sign of `u`
///      with probability θ/π over the rotation, so the Hamming distance `h` between the codes gives
///      `θ ≥ π(h/d − t)` with `t = √(9.7/2d)` (Hoeffding, treating the d signs as independent; the
///      rows of an orthogonal `P` make them negatively correlated, which only narrows `h`), except
///      with probability ≤ e^-9.7 ≈ 6·10⁻⁵: an upper bound `f_add + q·c + ‖u‖ r cos(π(h/d − t))`.
///      XOR and popcount of 96 bytes (d = 768) rule out most captions cheaply.
///   2. RaBitQ estimate for the rest: `est = f_add + q·c + f_dot · Σ s_i u_i / √d` (the unbiased
///      `⟨x̄, q̂⟩/⟨x̄, x̂⟩`), whose error is bounded by `ε₀ ‖u‖ f_err / √(d−1)` (ε₀ = 5) except with
///      small probability over the rotation (the paper's Theorem 3.2: the error is about Gaussian
///      with a standard deviation of at most `‖u‖ f_err / √(d−1)`, so ≈ 2Φ(−5) ≈ 6·10⁻⁷; the spread
///      is in fact `√(1 − ⟨x̂,q̂⟩²)` times smaller still, so the best matches are the safest).
///
/// A scan reads `codeBytes + 16` bytes per caption (112 for d = 768 instead of 1,536 for fp16).
///
/// File layout (little-endian, sections 64-byte aligned): a 128-byte header — `"CAPIDX04"`, UInt64
/// count n, dimension d, set id, revision, code bytes per row (d/8 rounded up to 8), rotation seed,
/// FNV-1a 64 checksum (over 64-bit words) of the header's first 56 bytes, the rotation and the
/// centroid; then `P` (d × d Float32, row-major), `c` (d Float32), the embeddings (n × d fp16, as in
/// the catalog: first, at an offset that does not depend on n, so that `captions import` can write
/// them as it inserts), the caption ids (n Int64), the factors (n × 4 Float32: f_dot, f_err, f_add,
/// r), the codes (n × codeBytes; bit j of byte k is dimension 8k + j). A file whose size, header or
/// checksum disagrees is refused (`init` throws) and rebuilt; files of format 03 (rows last, dense
/// Gaussian `P`) are refused by their magic and rebuilt.
public final class CaptionScanIndex: @unchecked Sendable {
    // `@unchecked Sendable`: the mapping is read-only and never mutated after init.
    static let magic = Array("CAPIDX04".utf8)
    static let headerSize = 128
    /// `ε₀` of the error bound, in units of the error's largest standard deviation: 2Φ(−5) ≈ 6·10⁻⁷
    /// for a Gaussian error (4 was exceeded once, at 4.3, in the tests' 1,800 pairs at d = 768).
    static let confidence: Float = 5

    public let path: String
    public let count: Int
    public let dimension: Int
    public let setID: Int64
    public let revision: Int64
    let layout: Layout
    let buffer: ByteBuffer

    /// Byte offsets of the file's sections.
    struct Layout: Equatable {
        let count: Int, dimension: Int, codeBytes: Int
        let rotation: Int, centroid: Int, rows: Int, ids: Int, factors: Int, codes: Int, size: Int

        init(count n: Int, dimension d: Int) {
            count = n
            dimension = d
            codeBytes = (d + 63) / 64 * 8
            func aligned(_ x: Int) -> Int { (x + 63) / 64 * 64 }
            rotation = CaptionScanIndex.headerSize
            centroid = aligned(rotation + 4 * d * d)
            rows = aligned(centroid + 4 * d)
            ids = aligned(rows + 2 * d * n)
            factors = aligned(ids + 8 * n)
            codes = aligned(factors + 16 * n)
            size = codes + codeBytes * n
        }
    }

    /// Bytes read by one scan (codes and factors).
    public var scanBytes: Int { count * (layout.codeBytes + 16) }

    /// Opens an index file; nil when missing or for another set / revision; throws when damaged.
    public init?(path: String, setID: Int64, revision: Int64) throws {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let buffer: ByteBuffer
        do { buffer = try MappedFile.map(path: path) } catch { throw CaptionError.scanIndex(path: path, reason: error.localizedDescription) }
        guard buffer.count >= Self.headerSize, let base = buffer.baseAddress else { throw CaptionError.scanIndex(path: path, reason: "truncated") }
        let header = UnsafeRawBufferPointer(start: base, count: Self.headerSize)
        guard Array(header[0..<8]) == Self.magic else { throw CaptionError.scanIndex(path: path, reason: "bad magic") }
        func field(_ k: Int) -> UInt64 { UInt64(littleEndian: header.loadUnaligned(fromByteOffset: 8 + 8 * k, as: UInt64.self)) }
        guard Int64(bitPattern: field(2)) == setID, Int64(bitPattern: field(3)) == revision else { return nil }
        let n = Int(clamping: field(0)), d = Int(clamping: field(1))
        guard d > 0, d <= 1 << 16, n >= 0, n <= 1 << 40 else { throw CaptionError.scanIndex(path: path, reason: "implausible header (n \(n), d \(d))") }
        let layout = Layout(count: n, dimension: d)
        guard Int(clamping: field(4)) == layout.codeBytes, buffer.count == layout.size else {
            throw CaptionError.scanIndex(path: path, reason: "size \(buffer.count) does not match its header (\(layout.size) bytes for \(n) × \(d))")
        }
        guard field(6) == Self.checksum(base, layout: layout) else { throw CaptionError.scanIndex(path: path, reason: "checksum mismatch") }
        self.path = path
        self.buffer = buffer
        self.layout = layout
        count = n
        dimension = d
        self.setID = setID
        self.revision = revision
    }

    /// FNV-1a 64 over the 64-bit little-endian words of the header's first 56 bytes, the rotation
    /// and the centroid (each section's length is a multiple of 4; a trailing half word is zero-padded).
    static func checksum(_ base: UnsafeRawPointer, layout: Layout) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ range: Range<Int>) {
            var offset = range.lowerBound
            while offset + 8 <= range.upperBound {
                hash = (hash ^ UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))) &* 0x0000_0100_0000_01B3
                offset += 8
            }
            if offset < range.upperBound {
                hash = (hash ^ UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))) &* 0x0000_0100_0000_01B3
            }
        }
        mix(0..<56)
        mix(layout.rotation..<(layout.rotation + 4 * layout.dimension * layout.dimension))
        mix(layout.centroid..<(layout.centroid + 4 * layout.dimension))
        return hash
    }

    private var base: UnsafeRawPointer { buffer.baseAddress! }  // non-nil: the file is at least a header long

    public func id(at row: Int) -> Int64 { Int64(littleEndian: base.loadUnaligned(fromByteOffset: layout.ids + 8 * row, as: Int64.self)) }

    /// The stored fp16 embedding of `row` (`dimension` values, little-endian bits).
    public func embeddingBits(at row: Int) -> UnsafeRawPointer { base + layout.rows + 2 * dimension * row }

    var rotation: UnsafePointer<Float> { (base + layout.rotation).assumingMemoryBound(to: Float.self) }
    var centroid: UnsafePointer<Float> { (base + layout.centroid).assumingMemoryBound(to: Float.self) }
    /// Per row: f_dot, f_err, f_add, r.
    var factors: UnsafePointer<Float> { (base + layout.factors).assumingMemoryBound(to: Float.self) }
    var codes: UnsafePointer<UInt8> { (base + layout.codes).assumingMemoryBound(to: UInt8.self) }
}
