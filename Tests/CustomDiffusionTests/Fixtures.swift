import Foundation
import TestSupport
import TensorFormats
@testable import CustomDiffusion

/// Fixtures of `fixtures/generate_sd_tiny.py` (tiny SD1-layout base, Custom Diffusion outputs, goldens).
enum Fixtures {
    static let root = fixtureURL("sd-tiny")
    static func concept(_ name: String) -> URL { root.appendingPathComponent("concepts/\(name)") }
    static func golden(_ name: String) -> URL { root.appendingPathComponent("golden/\(name)") }

    /// The base UNet's tensors.
    static func baseUNet() throws -> TensorArchive {
        try Safetensors.read(path: root.appendingPathComponent("base/unet/diffusion_pytorch_model.safetensors").path)
    }

    static func baseLayers() throws -> [CrossAttentionLayer] { try CrossAttentionLayer.detect(in: baseUNet()) }

    /// `W0` per layer key.
    static func baseWeights() throws -> [LayerKey: Matrix<Float>] {
        var out: [LayerKey: Matrix<Float>] = [:]
        for (name, tensor) in try baseUNet().tensors {
            guard let key = LayerNaming.parse(weightName: name) else { continue }
            out[key] = Matrix(rows: tensor.shape[0], cols: tensor.shape[1], storage: try tensor.floats())
        }
        return out
    }

    /// Golden ΔW per layer key (`<layer>.to_k`) and embeddings (`embedding.<token>`).
    static func goldenDeltas(_ file: String) throws -> (deltas: [LayerKey: Matrix<Float>], embeddings: [String: [Float]]) {
        var deltas: [LayerKey: Matrix<Float>] = [:], embeddings: [String: [Float]] = [:]
        for (name, tensor) in try Safetensors.read(path: golden(file).path).tensors {
            if name.hasPrefix("embedding.") {
                embeddings[String(name.dropFirst("embedding.".count))] = try tensor.floats()
            } else if let key = LayerNaming.parse(weightName: name + ".weight") {
                deltas[key] = Matrix(rows: tensor.shape[0], cols: tensor.shape[1], storage: try tensor.floats())
            }
        }
        return (deltas, embeddings)
    }

    struct PolicyGolden: Decodable {
        struct Entry: Decodable { let rank: Int; let relative_error: Double }
        let singular_values: [Double]
        let energy: Entry
        let rank2: Entry
        let error005: Entry
        enum CodingKeys: String, CodingKey {
            case singular_values, energy = "energy_0.6", rank2 = "rank_2", error005 = "error_0.05"
        }
    }

    static func policyGoldens() throws -> [LayerKey: PolicyGolden] {
        let raw = try JSONDecoder().decode([String: PolicyGolden].self, from: Data(contentsOf: golden("cat-policies.json")))
        return Dictionary(uniqueKeysWithValues: raw.compactMap { k, v in LayerNaming.parse(weightName: k + ".weight").map { ($0, v) } })
    }

    struct LayerGolden: Decodable { let diffusers: String; let compvis: String; let h: Int; let d: Int }
    static func layerGoldens() throws -> [LayerGolden] {
        try JSONDecoder().decode([LayerGolden].self, from: Data(contentsOf: golden("layers.json")))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cd-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Bitwise equality of Float arrays (distinguishes −0 and +0, treats equal NaN payloads as equal).
func bitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}

func relativeDifference(_ a: Matrix<Float>, _ b: Matrix<Float>) -> Double {
    (a - b).frobeniusNorm / Swift.max(b.frobeniusNorm, 1e-30)
}
