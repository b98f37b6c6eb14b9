import Foundation

/// Every layer's right-hand side of the merge, side by side: row `i` holds `C W′ᵀ − C W0ᵀ` of target
/// row `i` for each K/V weight in ascending `LayerKey` order (`s × Σh`, Float64). That difference,
/// `(Vᵀ − W0 Cᵀ)ᵀ`, is all the closed form (Kumari et al., CVPR 2023, §3.2, Eq. 5; docs/METHOD.md §4) needs of the layer values, and the
/// constraint residual `W Cᵀ − Vᵀ = (W − W0) Cᵀ − (Vᵀ − W0 Cᵀ)` only needs it too.
///
/// One matrix instead of one per layer lets the solve do a single `Σh × s × s` product for all
/// layers, with each layer's `up` a contiguous block of rows.
public struct LayerDifferences: Sendable {
    /// The layers, ascending.
    public let keys: [LayerKey]
    /// `offsets[n] ..< offsets[n + 1]` are layer `n`'s columns; `offsets.last` is Σh.
    public let offsets: [Int]
    /// `s × Σh`.
    public private(set) var values: Matrix<Double>

    /// Zeros for `rows` target rows and the given layer widths (output sizes h).
    public init(rows: Int, widths: [LayerKey: Int]) {
        keys = widths.keys.sorted()
        var offsets = [0]
        for key in keys { offsets.append(offsets[offsets.count - 1] + widths[key]!) }
        self.offsets = offsets
        values = Matrix(zeros: rows, offsets[offsets.count - 1])
    }

    /// From per-layer `C W′ᵀ` and `C W0ᵀ` (s × h each).
    public init(_ layers: [LayerKey: CompositionSolver.LayerTargets]) throws {
        let rows = layers.first?.value.target.rows ?? 0
        var widths: [LayerKey: Int] = [:]
        for (key, layer) in layers {
            guard layer.target.rows == rows, layer.base.rows == rows, layer.target.cols == layer.base.cols else {
                throw CompositionSolver.Failure.dimensionMismatch("\(key): targets \(layer.target.rows)×\(layer.target.cols), base \(layer.base.rows)×\(layer.base.cols), \(rows) rows expected")
            }
            widths[key] = layer.target.cols
        }
        self.init(rows: rows, widths: widths)
        for (n, key) in keys.enumerated() {
            let layer = layers[key]!
            for i in 0..<rows {
                layer.target.storage.withUnsafeBufferPointer { target in
                    layer.base.storage.withUnsafeBufferPointer { base in
                        let h = layer.target.cols
                        set(row: i, layer: n, target: target.baseAddress! + i * h, base: base.baseAddress! + i * h)
                    }
                }
            }
        }
    }

    public var rows: Int { values.rows }
    public var width: Int { values.cols }

    /// Layer `n`'s columns.
    public func columns(ofLayer n: Int) -> Range<Int> { offsets[n]..<offsets[n + 1] }

    /// Row `i` of layer `n` from its target and base values (h each).
    public mutating func set(row i: Int, layer n: Int, target: UnsafePointer<Double>, base: UnsafePointer<Double>) {
        let start = i * values.cols + offsets[n], h = offsets[n + 1] - offsets[n]
        values.storage.withUnsafeMutableBufferPointer { out in
            let row = out.baseAddress! + start
            for j in 0..<h { row[j] = target[j] - base[j] }
        }
    }

    /// The same from Float32 values (as merge keys are stored), subtracted in Float64.
    public mutating func set(row i: Int, layer n: Int, target: UnsafePointer<Float>, base: UnsafePointer<Float>) {
        let start = i * values.cols + offsets[n], h = offsets[n + 1] - offsets[n]
        values.storage.withUnsafeMutableBufferPointer { out in
            let row = out.baseAddress! + start
            for j in 0..<h { row[j] = Double(target[j]) - Double(base[j]) }
        }
    }
}
