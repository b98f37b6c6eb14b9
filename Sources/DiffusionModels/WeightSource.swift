import Foundation
import TensorFormats
import Tensors

/// Where a model's tensors come from, by name (diffusers names for `UNet2DConditionModel` and
/// `AutoencoderKLDecoder`).
public protocol WeightSource {
    func tensor(named: String) throws -> RawTensor
    var tensorNames: [String] { get }
}

/// Tensors held in memory (or memory-mapped from a safetensors file), by name.
public struct TensorDictionaryWeights: WeightSource, Sendable {
    public let tensors: [String: RawTensor]

    public init(_ tensors: [String: RawTensor]) { self.tensors = tensors }

    /// The tensors of a safetensors file (memory-mapped, zero-copy).
    public init(safetensorsPath path: String) throws { self.init(try Safetensors.read(path: path).byName) }

    /// The weights of a diffusers component folder (`unet/`, `vae/`): `diffusion_pytorch_model.safetensors`, or
    /// the sharded `diffusion_pytorch_model.safetensors.index.json`.
    public init(componentDirectory directory: URL) throws {
        let single = directory.appendingPathComponent("diffusion_pytorch_model.safetensors").path
        let index = directory.appendingPathComponent("diffusion_pytorch_model.safetensors.index.json").path
        if FileManager.default.fileExists(atPath: single) {
            try self.init(safetensorsPath: single)
        } else if FileManager.default.fileExists(atPath: index) {
            self.init(try Safetensors.readSharded(indexPath: index).byName)
        } else {
            throw DiffusionModelsError.noWeightsFile(directory: directory.path)
        }
    }

    public func tensor(named name: String) throws -> RawTensor {
        guard let tensor = tensors[name] else { throw DiffusionModelsError.missingTensor(name: name) }
        return tensor
    }

    public var tensorNames: [String] { tensors.keys.sorted() }
}
