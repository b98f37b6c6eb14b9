import CKernels
import Dispatch
import Tensors

/// A `Linear` weight (`outputs × inputs`, PyTorch layout) kept in the form its products run fastest in.
///
/// On CPUs with AVX-512F or AVX2 + FMA (`KernelPath`) it is packed once, at load, into 32-column panels
/// (`CKernels.h`) and multiplied by our own kernel (`ck_linear`: blocks of ≤ 12 rows × 32 columns on
/// AVX-512, 6 × 16 on AVX2, the same bits; the panel streamed once per row block). BLAS `sgemm` repacks the whole weight on every call, and with the rows of one caption
/// (10–77 tokens) that packing costs about as much as the product: the packed kernel runs the text
/// encoder's shapes 1.5–3× faster (`make bench SUITES=textEncoder`, `linear_layers`). An fp16 weight
/// (`model.fp16.safetensors`) stays fp16, widened exactly in registers: same results, half the memory
/// traffic. Elsewhere the weight is Float32 row-major for `sgemm`. Either way `y = x·Wᵀ + b` in Float32
/// with Float32 accumulation.
public final class PackedLinearWeight: @unchecked Sendable {
    // `@unchecked Sendable`: the storage is written once in init and only read afterwards.
    public let outputs: Int
    public let inputs: Int
    /// The kernel path chosen at init (`KernelPath.current` then): packed for `avx512`/`avx2`, row-major for `generic`.
    public let path: KernelPath
    private let storage: Storage

    private enum Storage {
        case rowMajor([Float])
        case packed(UnsafeMutablePointer<Float>)
        /// fp16 weights as the file holds them, packed; widened exactly in the kernel.
        case packedHalf(UnsafeMutablePointer<UInt16>)
    }

    /// Whether the kernel path in use now (`KernelPath.current`) packs weights.
    public static var kernelAvailable: Bool { KernelPath.current.hasPackedKernels }

    /// Whether this weight is packed for our kernel (else row-major for `sgemm`).
    public var isPacked: Bool {
        if case .rowMajor = storage { return false }
        return true
    }

    /// `weight`: `outputs × inputs`, row-major.
    public init(_ weight: [Float], outputs: Int, inputs: Int) {
        precondition(weight.count == outputs * inputs, "weight has \(weight.count) values for \(outputs) × \(inputs)")
        self.outputs = outputs
        self.inputs = inputs
        path = KernelPath.current
        guard path.hasPackedKernels, outputs > 0, inputs > 0 else {
            storage = .rowMajor(weight)
            return
        }
        let buffer = Self.allocate(Float.self, outputs: outputs, inputs: inputs)
        weight.withUnsafeBufferPointer { ck_pack_weight($0.baseAddress!, Int32(outputs), Int32(inputs), buffer) }
        storage = .packed(buffer)
    }

    /// From a tensor as the file holds it (`outputs × inputs`). An fp16 weight stays fp16 in memory where the
    /// packed kernel runs (lossless: the kernel widens each value exactly, so the outputs equal those of its
    /// Float32 values bit for bit); other dtypes are widened to Float32.
    public convenience init(tensor: RawTensor, outputs: Int, inputs: Int) throws {
        guard tensor.shape == [outputs, inputs] else { throw RawTensor.Failure.notAMatrix(tensor.shape) }
        let path = KernelPath.current
        guard tensor.dtype == .float16, path.hasPackedKernels, outputs > 0, inputs > 0 else {
            self.init(try tensor.floats(), outputs: outputs, inputs: inputs)
            return
        }
        let buffer = Self.allocate(UInt16.self, outputs: outputs, inputs: inputs)
        tensor.bytes.withUnsafeBytes { ck_pack_weight_f16($0.baseAddress!, Int32(outputs), Int32(inputs), buffer) }
        self.init(outputs: outputs, inputs: inputs, path: path, storage: .packedHalf(buffer))
    }

    private init(outputs: Int, inputs: Int, path: KernelPath, storage: Storage) {
        self.outputs = outputs
        self.inputs = inputs
        self.path = path
        self.storage = storage
    }

    /// A 64-byte aligned packed buffer of `Element`s.
    private static func allocate<Element>(_: Element.Type, outputs: Int, inputs: Int) -> UnsafeMutablePointer<Element> {
        let count = ck_packed_weight_count(Int32(outputs), Int32(inputs))
        return UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Element>.stride, alignment: 64)
            .bindMemory(to: Element.self, capacity: count)
    }

    deinit {
        switch storage {
        case .packed(let buffer): buffer.deallocate()
        case .packedHalf(let buffer): buffer.deallocate()
        case .rowMajor: break
        }
    }

    /// Bytes the weight occupies in memory.
    public var byteCount: Int {
        switch storage {
        case .rowMajor(let weight): weight.count * 4
        case .packed: ck_packed_weight_count(Int32(outputs), Int32(inputs)) * 4
        case .packedHalf: ck_packed_weight_count(Int32(outputs), Int32(inputs)) * 2
        }
    }

    /// `y ← (accumulate ? y : 0) + x·Wᵀ + b` for `rows` rows (`x`: rows × inputs, `y`: rows × outputs, row-major).
    public func apply(_ x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        apply(x, rows: rows, bias: bias, into: y, accumulate: accumulate, kernel: path)
    }

    /// `apply` with the packed kernel on `kernel` instead of the weight's own path (`generic` runs the portable C
    /// path on the packed layout; tests check that every path gives the same bits).
    func apply(_ x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool,
               kernel: KernelPath) {
        guard rows > 0 else { return }
        switch storage {
        case .packed(let packed):
            runPacked(x, rows: rows, bias: bias, into: y, accumulate: accumulate, weight: .single(packed), kernel: kernel)
        case .packedHalf(let packed):
            runPacked(x, rows: rows, bias: bias, into: y, accumulate: accumulate, weight: .half(packed), kernel: kernel)
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

    /// Packs the rows once and runs the kernel over the panels, on both cores when the product is big enough.
    /// Panels are outermost (inside the kernel): each comes from memory once and serves every row block from
    /// L2, so the weight is streamed once per call whatever the row count.
    private func runPacked(_ x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                           accumulate: Bool, weight: PanelCall.Weight, kernel: KernelPath) {
        let panels = Int(ck_panel_count(Int32(outputs)))
        let rowsPacked = UnsafeMutablePointer<Float>.allocate(capacity: rows * inputs)
        defer { rowsPacked.deallocate() }
        ck_pack_rows(x, Int32(rows), Int32(inputs), rowsPacked)
        // Both cores share the panels when the product is worth a thread hop (~10 µs).
        let parts = rows * outputs * inputs >= 1 << 20 ? min(2, panels) : 1
        let call = PanelCall(path: kernel.instructionSet, x: rowsPacked, rows: rows, inputs: inputs, weight: weight, outputs: outputs, bias: bias,
                             y: y, accumulate: accumulate, panels: panels, parts: parts)
        if parts == 1 { call.run(part: 0) } else { DispatchQueue.concurrentPerform(iterations: parts) { call.run(part: $0) } }
    }
}

/// One kernel call over a share of the panels (the pointers stay valid for the duration of `apply`, and
/// the shares write disjoint columns of `y`).
private struct PanelCall: @unchecked Sendable {
    enum Weight {
        case single(UnsafeMutablePointer<Float>)
        case half(UnsafeMutablePointer<UInt16>)
    }

    let path: ck_instruction_set
    let x: UnsafePointer<Float>, rows: Int, inputs: Int
    let weight: Weight, outputs: Int
    let bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    let accumulate: Bool, panels: Int, parts: Int

    func run(part: Int) {
        let begin = Int32(panels * part / parts), end = Int32(panels * (part + 1) / parts)
        switch weight {
        case .single(let packed):
            ck_linear(path, x, Int32(rows), Int32(inputs), packed, Int32(outputs), bias, y, Int32(outputs), accumulate ? 1 : 0, begin, end)
        case .half(let packed):
            ck_linear_f16(path, x, Int32(rows), Int32(inputs), packed, Int32(outputs), bias, y, Int32(outputs), accumulate ? 1 : 0, begin, end)
        }
    }
}
