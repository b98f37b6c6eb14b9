import CKernels
import Foundation
import Tensors

/// `nn.GroupNorm(groups, channels, eps)` with its affine scale and shift, optionally followed by SiLU.
struct GroupNorm: Sendable {
    let groups: Int
    let channels: Int
    let eps: Float
    let weight: [Float]
    let bias: [Float]

    init(_ reader: WeightReader, _ prefix: String, groups: Int, channels: Int, eps: Float) throws {
        guard groups > 0, channels % groups == 0 else {
            throw DiffusionModelsError.unsupportedConfiguration(field: "\(prefix) groups", value: "\(groups) for \(channels) channels")
        }
        self.groups = groups
        self.channels = channels
        self.eps = eps
        weight = try reader.floats(prefix + ".weight", count: channels)
        bias = try reader.floats(prefix + ".bias", count: channels)
    }

    /// GroupNorm of sample `b` of `x` into `y` (C × H·W).
    func apply(_ x: FeatureMap, sample b: Int, into y: UnsafeMutablePointer<Float>, silu: Bool) {
        weight.withUnsafeBufferPointer { g in
            bias.withUnsafeBufferPointer { s in
                guard let gb = g.baseAddress, let sb = s.baseAddress else { return }
                // Groups are independent: each core normalises a run of them.
                let per = channels / groups, spatial = x.spatial, source = x.sample(b)
                Parallel.forEach(groups, minimum: max(1, 16_384 / max(1, per * spatial))) { part in
                    let c0 = part.lowerBound * per
                    ck_group_norm(source + c0 * spatial, y + c0 * spatial, Int32(part.count * per), Int32(spatial),
                                  Int32(part.count), eps, gb + c0, sb + c0, silu ? 1 : 0)
                }
            }
        }
    }

    func apply(_ x: FeatureMap, silu: Bool) -> FeatureMap {
        let out = FeatureMap(batch: x.batch, channels: x.channels, height: x.height, width: x.width)
        for b in 0..<x.batch { apply(x, sample: b, into: out.sample(b), silu: silu) }
        return out
    }
}

/// `nn.LayerNorm(dim, eps)` over the last dimension.
struct LayerNorm: Sendable {
    let dim: Int
    let eps: Float
    let weight: [Float]
    let bias: [Float]

    init(_ reader: WeightReader, _ prefix: String, dim: Int, eps: Float = 1e-5) throws {
        self.dim = dim
        self.eps = eps
        weight = try reader.floats(prefix + ".weight", count: dim)
        bias = try reader.floats(prefix + ".bias", count: dim)
    }

    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { g in
            bias.withUnsafeBufferPointer { s in
                guard let gb = g.baseAddress, let sb = s.baseAddress else { return }
                Parallel.forEach(rows, minimum: max(1, 16_384 / max(1, dim))) { part in
                    let offset = part.lowerBound * dim
                    ck_layer_norm(x + offset, y + offset, Int32(part.count), Int32(dim), eps, gb, sb)
                }
            }
        }
    }
}
