import Foundation
import Tensors

/// The token embedding matrix `E_tok` (`vocab × d`) as the model keeps it:
/// - every row in Float32, as a Float32 (or bf16) file gives them;
/// - every row in fp16, as an fp16 file (`model.fp16.safetensors`) gives them: half the memory (76 MB
///   instead of 152 MB for CLIP ViT-L/14), widened exactly at lookup;
/// - only the rows of the ids a caller will encode (`CLIPTextModel(…, tokenIDs:)`): `register`'s merge
///   keys encode two short prompts per token, a dozen of CLIP's 49,408 rows.
struct TokenEmbeddingTable: Sendable {
    enum Storage: Sendable {
        case float([Float])
        case half(RawTensor)
        /// Row index per kept id, and the kept rows (Float32).
        case rows([Int32: Int], [Float])
    }

    let storage: Storage
    let vocabularySize: Int
    let width: Int

    /// The table of `tensor` (`vocab × d`, floating point), restricted to `ids` when given (ids outside
    /// the vocabulary are ignored).
    init(_ tensor: RawTensor, vocabularySize: Int, width: Int, ids: Set<Int32>?) throws {
        self.vocabularySize = vocabularySize
        self.width = width
        if let ids {
            let kept = ids.filter { $0 >= 0 && Int($0) < vocabularySize }.sorted()
            var index: [Int32: Int] = [:]
            var rows = [Float](repeating: 0, count: kept.count * width)
            let all = tensor.dtype == .float16 ? nil : try tensor.floats()
            for (k, id) in kept.enumerated() {
                index[id] = k
                rows.withUnsafeMutableBufferPointer { out in
                    if let all {
                        for j in 0..<width { out[k * width + j] = all[Int(id) * width + j] }
                    } else {
                        Self.widenRow(tensor, Int(id), width: width, into: out.baseAddress! + k * width)
                    }
                }
            }
            storage = .rows(index, rows)
        } else if tensor.dtype == .float16, tensor.byteCount == 2 * vocabularySize * width {
            storage = .half(tensor)
        } else {
            storage = .float(try tensor.floats())
        }
    }

    /// Whether the row of `id` is held.
    func contains(_ id: Int32) -> Bool {
        guard id >= 0, Int(id) < vocabularySize else { return false }
        if case .rows(let index, _) = storage { return index[id] != nil }
        return true
    }

    /// Writes the row of `id` (held: `contains(id)`) to `out` (`width` values).
    func row(_ id: Int32, into out: UnsafeMutablePointer<Float>) {
        switch storage {
        case .float(let all):
            all.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + Int(id) * width, count: width) }
        case .half(let tensor):
            Self.widenRow(tensor, Int(id), width: width, into: out)
        case .rows(let index, let rows):
            guard let k = index[id] else { out.update(repeating: 0, count: width); return }
            rows.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + k * width, count: width) }
        }
    }

    /// Row `i` of a contiguous little-endian fp16 `vocab × d` tensor, widened exactly.
    static func widenRow(_ tensor: RawTensor, _ i: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        tensor.bytes.withUnsafeBytes { raw in
            for j in 0..<width {
                let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * (i * width + j), as: UInt16.self))
                out[j] = HalfPrecision.float(fromFloat16Bits: bits)
            }
        }
    }
}
