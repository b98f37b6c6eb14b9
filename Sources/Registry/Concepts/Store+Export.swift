import CustomDiffusion
import Foundation

/// The JSON result of `export` (and of the files part of `compose`).
public struct ExportResult: Codable, Sendable {
    public let files: [String]
}

extension Store {
    /// `concepts export REF --format F --out DIR`: writes the version in a format the real tools
    /// load (CLI.md "Export formats"); full-weight formats get W′ = W0 + ΔW from the stored base.
    public func export(_ reference: ConceptReference, format: ExportFormat, to directory: URL) throws -> ExportResult {
        let resolved = try resolve(reference)
        let deltas = try deltas(versionID: resolved.versionID)
        let tokens = try tokenEmbeddings(versionID: resolved.versionID)
        let layers = try exportLayers(baseID: resolved.baseID, deltas: deltas)
        return try writeExport(layers: layers, tokens: tokens, format: format, to: directory)
    }

    /// Pairs every stored ΔW with its base W0, in the base's layer order.
    func exportLayers(baseID: Int64, deltas: [LayerKey: CompressedDelta]) throws -> [ExportLayer] {
        try exportLayers(baseID: baseID, readingBase: true) { _, key in
            guard let delta = deltas[key] else { throw RegistryError.missingLayer(owner: "the stored version", layer: key.description) }
            return delta
        }
    }

    /// Every K/V weight of the base, in its layer order, with the ΔW `delta` gives for it and, when
    /// `readingBase`, its W0 (an empty matrix otherwise: the LoRA layout holds only the update).
    func exportLayers(baseID: Int64, readingBase: Bool,
                      delta: (BaseLayer, LayerKey) throws -> CompressedDelta) throws -> [ExportLayer] {
        let baseLayers = try catalog.read { connection in try Store.baseLayers(baseID: baseID, in: connection) }
        var layers: [ExportLayer] = []
        for layer in baseLayers {
            for projection in Projection.allCases {
                let key = LayerKey(layer: layer.name, projection: projection)
                let delta = try delta(layer, key)
                let w0 = readingBase ? try baseTensor(baseID: baseID, name: projection == .key ? layer.keyTensor : layer.valueTensor).matrix()
                    : Matrix<Float>(zeros: 0, 0)
                layers.append(ExportLayer(layer: layer.crossAttentionLayer, projection: projection, base: w0, delta: delta))
            }
        }
        return layers
    }

    func writeExport(layers: [ExportLayer], tokens: [ConceptCheckpoint.Token], format: ExportFormat, to directory: URL) throws -> ExportResult {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw RegistryError.io(path: directory.path, reason: "cannot create the output directory: \(error.localizedDescription)")
        }
        let files = try ConceptExporter.export(layers: layers, tokens: tokens, format: format, to: directory)
        return ExportResult(files: files.map(\.path))
    }
}
