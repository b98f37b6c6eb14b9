import CKernels
import Dispatch
import Tensors

/// A `Linear` weight (`outputs × inputs`, PyTorch layout) kept in the form its products run fastest in.
///
/// On CPUs with AVX-512F it is packed once, at load, into 32-column panels (`CKernels.h`) and multiplied
/// by our own kernel (`ck_linear`: blocks of ≤ 12 rows × 32 columns, the panel streamed once per row
/// block). BLAS `sgemm` repacks the whole weight on every call, and with the rows of one caption
/// (10–77 tokens) that packing costs about as much as the product: the packed kernel runs the text
/// encoder's shapes 1.5–3× faster (`make bench SUITES=textEncoder`, `linear_layers`). Elsewhere the
/// weight stays row-major for `sgemm`. Either way `y = x·Wᵀ + b` in Float32 with Float32 accumulation.
public final class PackedLinearWeight: @unchecked Sendable {
    // `@unchecked Sendable`: the storage is written once in init and only read afterwards.
    public let outputs: Int
    public let inputs: Int
    private let storage: Storage

    private enum Storage {
        case rowMajor([Float])
        case packed(UnsafeMutablePointer<Float>)
    }

    /// Whether this CPU runs the packed kernel (AVX-512F).
    public static let kernelAvailable = ck_linear_available() == 1

    /// `weight`: `outputs × inputs`, row-major.
    public init(_ weight: [Float], outputs: Int, inputs: Int) {
        precondition(weight.count == outputs * inputs, "weight has \(weight.count) values for \(outputs) × \(inputs)")
        self.outputs = outputs
        self.inputs = inputs
        guard Self.kernelAvailable, outputs > 0, inputs > 0 else {
            storage = .rowMajor(weight)
            return
        }
        let count = ck_packed_weight_count(Int32(outputs), Int32(inputs))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
        weight.withUnsafeBufferPointer { ck_pack_weight($0.baseAddress!, Int32(outputs), Int32(inputs), buffer) }
        storage = .packed(buffer)
    }

    deinit {
        if case .packed(let buffer) = storage { buffer.deallocate() }
    }

    /// `y ← (accumulate ? y : 0) + x·Wᵀ + b` for `rows` rows (`x`: rows × inputs, `y`: rows × outputs, row-major).
    public func apply(_ x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        guard rows > 0 else { return }
        switch storage {
        case .packed(let packed):
            // Panels outermost (inside `ck_linear`): each panel comes from memory once and serves every row
            // block from L2, so the weight is streamed once per call whatever the row count.
            let panels = Int(ck_panel_count(Int32(outputs)))
            let rowsPacked = UnsafeMutablePointer<Float>.allocate(capacity: rows * inputs)
            defer { rowsPacked.deallocate() }
            ck_pack_rows(x, Int32(rows), Int32(inputs), rowsPacked)
            // Both cores share the panels when the product is worth a thread hop (~10 µs).
            let parts = rows * outputs * inputs >= 1 << 20 ? min(2, panels) : 1
            let call = PanelCall(x: rowsPacked, rows: rows, inputs: inputs, packed: packed, outputs: outputs, bias: bias,
                                 y: y, accumulate: accumulate, panels: panels, parts: parts)
            if parts == 1 { call.run(part: 0) } else { DispatchQueue.concurrentPerform(iterations: parts) { call.run(part: $0) } }
        case .rowMajor(let weight):
            for r in 0..<rows {
                let row = y + r * outputs
                if accumulate {
                    for j in 0..<outputs { row[j] += bias[j] }
                } else {
                    for j in 0..<outputs { row[j] = bias[j] }
                }
            }
            weight.withUnsafeBufferPointer { pw in
                Float.gemm(transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs, alpha: 1,
                           a: x, lda: inputs, b: pw.baseAddress!, ldb: inputs, beta: 1, c: y, ldc: outputs)
            }
        }
    }
}

/// One `ck_linear` over a share of the panels (the pointers stay valid for the duration of `apply`,
/// and the shares write disjoint columns of `y`).
private struct PanelCall: @unchecked Sendable {
    let x: UnsafePointer<Float>, rows: Int, inputs: Int
    let packed: UnsafeMutablePointer<Float>, outputs: Int
    let bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    let accumulate: Bool, panels: Int, parts: Int

    func run(part: Int) {
        ck_linear(x, Int32(rows), Int32(inputs), packed, Int32(outputs), bias, y, Int32(outputs),
                  accumulate ? 1 : 0, Int32(panels * part / parts), Int32(panels * (part + 1) / parts))
    }
}
