import Foundation
import Testing
import TensorFormats
@testable import TextEncoder
import Tensors

/// `CLIPTextModel(configuration:tensorNames:tokenIDs:tensor:)`: tensors fetched one at a time (each
/// once, unused ones never), and a token embedding matrix restricted to the ids that will be encoded
/// gives the very same outputs for those ids.
@Suite("token embedding rows and lazy tensors")
struct TokenEmbeddingRowsTests {
    /// The fixture's vocabulary has 512 ids (BOS 510, EOS 511).
    static let batch: [[Int32]] = [[510, 32, 125, 39, 320, 236, 511], [510, 511], [510, 7, 7, 300, 511]]

    final class FetchLog: @unchecked Sendable {  // used from one thread
        var names: [String] = []
    }

    @Test("only the listed rows, the same outputs; other ids are refused by name")
    func restrictedRows() throws {
        let (half, _) = try HalfPrecisionWeightsTests.models()
        let dir = Fixtures.url("tiny-quickgelu")
        let config = try CLIPTextConfiguration.read(dir.appendingPathComponent("config.json"))
        var weights: [String: RawTensor] = [:]
        for (name, tensor) in try Safetensors.read(path: dir.appendingPathComponent("model.safetensors").path).tensors where tensor.dtype.isFloatingPoint {
            weights[name] = try RawTensor.from(floats: try tensor.floats(), shape: tensor.shape, as: .float16)
        }
        weights["unused.extra.weight"] = try RawTensor.from(floats: [1, 2], shape: [2])
        let log = FetchLog()
        let ids = Set(Self.batch.joined())
        let restricted = try CLIPTextModel(configuration: config, tensorNames: Set(weights.keys), tokenIDs: ids) { name in
            log.names.append(name)
            return weights[name]
        }
        #expect(Set(log.names).count == log.names.count, "a tensor was fetched twice")
        #expect(!log.names.contains("unused.extra.weight"))
        if case .rows(let index, let rows) = restricted.tokenEmbedding.storage {
            #expect(Set(index.keys) == ids && rows.count == ids.count * config.hiddenSize)
        } else {
            Issue.record("the token embedding matrix was not restricted")
        }
        for (x, y) in zip(try restricted.encode(Self.batch), try half.encode(Self.batch)) {
            #expect(x.hidden.storage == y.hidden.storage)
            #expect(x.pooled == y.pooled)
        }
        #expect(throws: TextEncoderError.tokenNotLoaded(id: 33, sequence: 1)) {
            try restricted.encode([[510, 511], [510, 33, 511]])
        }
        // The full fp16 model keeps the fp16 matrix as it is (half the memory of Float32).
        if case .half(let tensor) = half.tokenEmbedding.storage {
            #expect(tensor.dtype == .float16 && tensor.byteCount == 2 * config.vocabSize * config.hiddenSize)
        } else {
            Issue.record("an fp16 token embedding matrix was widened")
        }
    }
}
