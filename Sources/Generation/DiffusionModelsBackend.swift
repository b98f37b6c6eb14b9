import DiffusionModels
import Foundation
import Tensors

/// The UNet and VAE decoder of the `DiffusionModels` module, built from a base's config files and stored weights.
public struct DiffusionModelsBackend: DiffusionBackend {
    public init() {}

    public func makeUNet(configuration: Data, weights: BaseComponentWeights) throws -> any NoisePredictor {
        try UNet2DConditionModel(configuration: UNetConfiguration.decode(configuration), weights: weights)
    }

    public func makeDecoder(configuration: Data, weights: BaseComponentWeights) throws -> any LatentDecoder {
        try AutoencoderKLDecoder(configuration: VAEConfiguration.decode(configuration), weights: weights)
    }
}

extension BaseComponentWeights: WeightSource {}
extension UNet2DConditionModel: NoisePredictor {}
extension AutoencoderKLDecoder: LatentDecoder {}
