import Foundation

/// diffusers' `AutoencoderKL` configuration (`vae/config.json`), the keys the decoder needs, Hugging Face names.
public struct VAEConfiguration: Codable, Sendable, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    public var upBlockTypes: [String]
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var latentChannels: Int
    public var normNumGroups: Int
    public var actFn: String
    public var scalingFactor: Double
    public var shiftFactor: Double?
    public var usePostQuantConv: Bool
    public var midBlockAddAttention: Bool

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels", upBlockTypes = "up_block_types"
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case latentChannels = "latent_channels", normNumGroups = "norm_num_groups", actFn = "act_fn"
        case scalingFactor = "scaling_factor", shiftFactor = "shift_factor", usePostQuantConv = "use_post_quant_conv"
        case midBlockAddAttention = "mid_block_add_attention"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 3
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? 3
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes) ?? ["UpDecoderBlock2D"]
        blockOutChannels = try c.decodeIfPresent([Int].self, forKey: .blockOutChannels) ?? [64]
        layersPerBlock = try c.decodeIfPresent(Int.self, forKey: .layersPerBlock) ?? 1
        latentChannels = try c.decodeIfPresent(Int.self, forKey: .latentChannels) ?? 4
        normNumGroups = try c.decodeIfPresent(Int.self, forKey: .normNumGroups) ?? 32
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? "silu"
        scalingFactor = try c.decodeIfPresent(Double.self, forKey: .scalingFactor) ?? 0.18215
        shiftFactor = try c.decodeIfPresent(Double.self, forKey: .shiftFactor)
        usePostQuantConv = try c.decodeIfPresent(Bool.self, forKey: .usePostQuantConv) ?? true
        midBlockAddAttention = try c.decodeIfPresent(Bool.self, forKey: .midBlockAddAttention) ?? true
        try validate()
    }

    public static func decode(_ json: Data) throws -> VAEConfiguration {
        do {
            return try JSONDecoder().decode(VAEConfiguration.self, from: json)
        } catch let error as DiffusionModelsError {
            throw error
        } catch {
            throw DiffusionModelsError.invalidConfigurationJSON(reason: "\(error)")
        }
    }

    func validate() throws {
        for type in upBlockTypes where type != "UpDecoderBlock2D" {
            throw DiffusionModelsError.unsupportedBlockType(field: "up_block_types", type: type)
        }
        guard !blockOutChannels.isEmpty, upBlockTypes.count == blockOutChannels.count else {
            throw DiffusionModelsError.unsupportedConfiguration(field: "block_out_channels", value: "\(blockOutChannels)")
        }
        for ch in blockOutChannels where ch <= 0 || normNumGroups <= 0 || ch % normNumGroups != 0 {
            throw DiffusionModelsError.unsupportedConfiguration(field: "norm_num_groups", value: "\(normNumGroups) for \(ch) channels")
        }
        if actFn != "silu" { throw DiffusionModelsError.unsupportedConfiguration(field: "act_fn", value: actFn) }
        if layersPerBlock < 1 { throw DiffusionModelsError.unsupportedConfiguration(field: "layers_per_block", value: "\(layersPerBlock)") }
        guard scalingFactor.isFinite, scalingFactor != 0 else {
            throw DiffusionModelsError.unsupportedConfiguration(field: "scaling_factor", value: "\(scalingFactor)")
        }
    }
}
