import Foundation
import Registry
import Tensors

/// The two networks the pipeline runs, as small protocols so the loop, the text conditioning and the PNG output do
/// not depend on how the networks are implemented (the `DiffusionModels` module's `UNet2DConditionModel` and
/// `AutoencoderKLDecoder` conform; tests use stand-ins).
public protocol NoisePredictor: AnyObject {
    /// ε (or v) for latents `[batch, C, height, width]` at `timestep`, conditioned on `[batch, sequenceLength, d]`.
    func predict(latents: [Float], batch: Int, height: Int, width: Int, timestep: Double,
                 encoderHiddenStates: [Float], sequenceLength: Int) throws -> [Float]
    /// Replaces `to_k`/`to_v` of one cross-attention layer (`…transformer_blocks.0.attn2`), row-major `[h, d]`.
    func setCrossAttentionWeights(layer: String, key: [Float], value: [Float]) throws
}

public protocol LatentDecoder: AnyObject {
    /// 8-bit RGB `[batch][H][W][3]` from latents `[batch, C, height, width]` (divides by `scaling_factor` itself).
    func decodeToRGB8(latents: [Float], batch: Int, height: Int, width: Int) throws -> [UInt8]
}

/// Builds the networks of a base from its config files and stored weights.
public protocol DiffusionBackend: Sendable {
    func makeUNet(configuration: Data, weights: BaseComponentWeights) throws -> any NoisePredictor
    func makeDecoder(configuration: Data, weights: BaseComponentWeights) throws -> any LatentDecoder
}

/// A base component's stored tensors (`unet`, `vae`), read on demand from the store in their stored dtype
/// (fp16 stays fp16; blobs are memory-mapped).
public struct BaseComponentWeights: @unchecked Sendable {
    // @unchecked: `Store` is a class whose catalog access is serialised by its catalog; this wrapper is immutable.
    public let store: Store
    public let base: String
    public let component: String
    public let tensorNames: [String]

    public init(store: Store, base: String, component: String) throws {
        self.store = store
        self.base = base
        self.component = component
        tensorNames = try store.baseTensorNames(base: base, component: component)
    }

    public func tensor(named name: String) throws -> RawTensor {
        try store.baseTensor(base: base, component: component, name: name)
    }
}
