import Foundation

/// An integer or a per-block list of integers, as diffusers configs write `attention_head_dim`,
/// `num_attention_heads`, `layers_per_block` and `transformer_layers_per_block`.
public enum PerBlockInt: Codable, Sendable, Equatable {
    case all(Int)
    case perBlock([Int])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) { self = .all(value) } else { self = .perBlock(try container.decode([Int].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .all(let v): try container.encode(v)
        case .perBlock(let v): try container.encode(v)
        }
    }

    /// The value of each of `count` blocks; a list must have `count` entries.
    func values(count: Int, field: String) throws -> [Int] {
        switch self {
        case .all(let v): return Array(repeating: v, count: count)
        case .perBlock(let v):
            guard v.count == count else {
                throw DiffusionModelsError.unsupportedConfiguration(field: field, value: "\(v) (\(count) blocks)")
            }
            return v
        }
    }
}

/// diffusers' `UNet2DConditionModel` configuration (`unet/config.json`) for the SD 1.x / 2.x family, with the
/// Hugging Face key names; keys this implementation does not use are ignored, values it cannot run are refused.
public struct UNetConfiguration: Codable, Sendable, Equatable {
    public enum DownBlockType: String, Codable, Sendable { case crossAttnDownBlock2D = "CrossAttnDownBlock2D", downBlock2D = "DownBlock2D" }
    public enum UpBlockType: String, Codable, Sendable { case crossAttnUpBlock2D = "CrossAttnUpBlock2D", upBlock2D = "UpBlock2D" }

    public var inChannels: Int
    public var outChannels: Int
    public var downBlockTypes: [DownBlockType]
    public var upBlockTypes: [UpBlockType]
    public var midBlockType: String?
    public var blockOutChannels: [Int]
    public var layersPerBlock: PerBlockInt
    public var normNumGroups: Int
    public var normEps: Double
    public var crossAttentionDim: Int
    /// In SD 1.x/2.x configs the number of heads (diffusers' legacy naming) unless `num_attention_heads` is set.
    public var attentionHeadDim: PerBlockInt
    public var numAttentionHeads: PerBlockInt?
    public var transformerLayersPerBlock: PerBlockInt
    public var useLinearProjection: Bool
    public var flipSinToCos: Bool
    public var freqShift: Int
    public var sampleSize: Int?
    public var downsamplePadding: Int
    public var midBlockScaleFactor: Double
    public var actFn: String
    public var timeEmbeddingType: String
    public var resnetTimeScaleShift: String
    public var classEmbedType: String?
    public var additionEmbedType: String?
    public var onlyCrossAttention: Bool
    public var dualCrossAttention: Bool
    public var upcastAttention: Bool
    public var centerInputSample: Bool
    public var convInKernel: Int
    public var convOutKernel: Int
    public var timeCondProjDim: Int?
    public var encoderHidDim: Int?

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels"
        case downBlockTypes = "down_block_types", upBlockTypes = "up_block_types", midBlockType = "mid_block_type"
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case normNumGroups = "norm_num_groups", normEps = "norm_eps", crossAttentionDim = "cross_attention_dim"
        case attentionHeadDim = "attention_head_dim", numAttentionHeads = "num_attention_heads"
        case transformerLayersPerBlock = "transformer_layers_per_block", useLinearProjection = "use_linear_projection"
        case flipSinToCos = "flip_sin_to_cos", freqShift = "freq_shift", sampleSize = "sample_size"
        case downsamplePadding = "downsample_padding", midBlockScaleFactor = "mid_block_scale_factor", actFn = "act_fn"
        case timeEmbeddingType = "time_embedding_type", resnetTimeScaleShift = "resnet_time_scale_shift"
        case classEmbedType = "class_embed_type", additionEmbedType = "addition_embed_type"
        case onlyCrossAttention = "only_cross_attention", dualCrossAttention = "dual_cross_attention"
        case upcastAttention = "upcast_attention", centerInputSample = "center_input_sample"
        case convInKernel = "conv_in_kernel", convOutKernel = "conv_out_kernel"
        case timeCondProjDim = "time_cond_proj_dim", encoderHidDim = "encoder_hid_dim"
    }

    /// Decodes with diffusers' defaults for absent keys; unknown block types are refused by name.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 4
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? 4
        let downNames = try c.decodeIfPresent([String].self, forKey: .downBlockTypes)
            ?? ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
        downBlockTypes = try downNames.map {
            guard let t = DownBlockType(rawValue: $0) else { throw DiffusionModelsError.unsupportedBlockType(field: "down_block_types", type: $0) }
            return t
        }
        let upNames = try c.decodeIfPresent([String].self, forKey: .upBlockTypes)
            ?? ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
        upBlockTypes = try upNames.map {
            guard let t = UpBlockType(rawValue: $0) else { throw DiffusionModelsError.unsupportedBlockType(field: "up_block_types", type: $0) }
            return t
        }
        midBlockType = try c.decodeIfPresent(String.self, forKey: .midBlockType) ?? "UNetMidBlock2DCrossAttn"
        blockOutChannels = try c.decodeIfPresent([Int].self, forKey: .blockOutChannels) ?? [320, 640, 1280, 1280]
        layersPerBlock = try c.decodeIfPresent(PerBlockInt.self, forKey: .layersPerBlock) ?? .all(2)
        normNumGroups = try c.decodeIfPresent(Int.self, forKey: .normNumGroups) ?? 32
        normEps = try c.decodeIfPresent(Double.self, forKey: .normEps) ?? 1e-5
        crossAttentionDim = try c.decodeIfPresent(Int.self, forKey: .crossAttentionDim) ?? 1280
        attentionHeadDim = try c.decodeIfPresent(PerBlockInt.self, forKey: .attentionHeadDim) ?? .all(8)
        numAttentionHeads = try c.decodeIfPresent(PerBlockInt.self, forKey: .numAttentionHeads)
        transformerLayersPerBlock = try c.decodeIfPresent(PerBlockInt.self, forKey: .transformerLayersPerBlock) ?? .all(1)
        useLinearProjection = try c.decodeIfPresent(Bool.self, forKey: .useLinearProjection) ?? false
        flipSinToCos = try c.decodeIfPresent(Bool.self, forKey: .flipSinToCos) ?? true
        freqShift = try c.decodeIfPresent(Int.self, forKey: .freqShift) ?? 0
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize)
        downsamplePadding = try c.decodeIfPresent(Int.self, forKey: .downsamplePadding) ?? 1
        midBlockScaleFactor = try c.decodeIfPresent(Double.self, forKey: .midBlockScaleFactor) ?? 1
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? "silu"
        timeEmbeddingType = try c.decodeIfPresent(String.self, forKey: .timeEmbeddingType) ?? "positional"
        resnetTimeScaleShift = try c.decodeIfPresent(String.self, forKey: .resnetTimeScaleShift) ?? "default"
        classEmbedType = try c.decodeIfPresent(String.self, forKey: .classEmbedType)
        additionEmbedType = try c.decodeIfPresent(String.self, forKey: .additionEmbedType)
        onlyCrossAttention = (try? c.decodeIfPresent(Bool.self, forKey: .onlyCrossAttention)) ?? false
        dualCrossAttention = try c.decodeIfPresent(Bool.self, forKey: .dualCrossAttention) ?? false
        upcastAttention = try c.decodeIfPresent(Bool.self, forKey: .upcastAttention) ?? false
        centerInputSample = try c.decodeIfPresent(Bool.self, forKey: .centerInputSample) ?? false
        convInKernel = try c.decodeIfPresent(Int.self, forKey: .convInKernel) ?? 3
        convOutKernel = try c.decodeIfPresent(Int.self, forKey: .convOutKernel) ?? 3
        timeCondProjDim = try c.decodeIfPresent(Int.self, forKey: .timeCondProjDim)
        encoderHidDim = try c.decodeIfPresent(Int.self, forKey: .encoderHidDim)
        try validate()
    }

    /// Decodes `unet/config.json`.
    public static func decode(_ json: Data) throws -> UNetConfiguration {
        do {
            return try JSONDecoder().decode(UNetConfiguration.self, from: json)
        } catch let error as DiffusionModelsError {
            throw error
        } catch {
            throw DiffusionModelsError.invalidConfigurationJSON(reason: "\(error)")
        }
    }

    /// Refuses what this implementation does not run (by the Hugging Face key).
    func validate() throws {
        func refuse(_ field: String, _ value: Any) throws -> Never {
            throw DiffusionModelsError.unsupportedConfiguration(field: field, value: "\(value)")
        }
        if midBlockType != "UNetMidBlock2DCrossAttn" {
            throw DiffusionModelsError.unsupportedBlockType(field: "mid_block_type", type: midBlockType ?? "null")
        }
        let levels = blockOutChannels.count
        if levels == 0 || downBlockTypes.count != levels || upBlockTypes.count != levels { try refuse("block_out_channels", blockOutChannels) }
        if actFn != "silu" { try refuse("act_fn", actFn) }
        if timeEmbeddingType != "positional" { try refuse("time_embedding_type", timeEmbeddingType) }
        if resnetTimeScaleShift != "default" { try refuse("resnet_time_scale_shift", resnetTimeScaleShift) }
        if let classEmbedType { try refuse("class_embed_type", classEmbedType) }
        if let additionEmbedType { try refuse("addition_embed_type", additionEmbedType) }
        if onlyCrossAttention { try refuse("only_cross_attention", true) }
        if dualCrossAttention { try refuse("dual_cross_attention", true) }
        if centerInputSample { try refuse("center_input_sample", true) }
        if convInKernel != 3 { try refuse("conv_in_kernel", convInKernel) }
        if convOutKernel != 3 { try refuse("conv_out_kernel", convOutKernel) }
        if downsamplePadding != 1 { try refuse("downsample_padding", downsamplePadding) }
        if let timeCondProjDim { try refuse("time_cond_proj_dim", timeCondProjDim) }
        if let encoderHidDim { try refuse("encoder_hid_dim", encoderHidDim) }
        if blockOutChannels[0] % 2 != 0 { try refuse("block_out_channels", blockOutChannels) }
        for c in blockOutChannels where c <= 0 || c % normNumGroups != 0 { try refuse("norm_num_groups", normNumGroups) }
        _ = try heads()
        _ = try layersPerBlock.values(count: levels, field: "layers_per_block")
        _ = try transformerLayersPerBlock.values(count: levels, field: "transformer_layers_per_block")
    }

    /// Heads per down level: `num_attention_heads` or else (diffusers' legacy meaning) `attention_head_dim`.
    func heads() throws -> [Int] {
        let heads = try (numAttentionHeads ?? attentionHeadDim).values(count: blockOutChannels.count, field: "attention_head_dim")
        for (level, h) in heads.enumerated() where h <= 0 || blockOutChannels[level] % h != 0 {
            throw DiffusionModelsError.unsupportedConfiguration(field: "attention_head_dim", value: "\(h) heads for \(blockOutChannels[level]) channels")
        }
        return heads
    }
}
