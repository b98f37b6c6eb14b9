import CustomDiffusion
import Foundation

extension Store {
    /// A recorded composition (`compose` printed its `composition_id`) written again in `format` to `directory`,
    /// without solving: `generate --composition ID`. Throws `unknownComposition` for an id never recorded.
    public func exportComposition(id: String, format: ExportFormat, to directory: URL) throws -> ComposeResult {
        guard let (stored, updates, tokens) = try loadComposition(id: id) else { throw RegistryError.unknownComposition(id) }
        var result = stored
        let baseID = try catalog.read { connection in try Store.baseID(named: result.base, in: connection) }
        result.files = try exportComposition(baseID: baseID, updates: updates, tokens: tokens, format: format, to: directory).files
        result.cached = true
        return result
    }
}

extension Store {
    /// The names of a base component's stored tensors (`unet`, `vae`, `text_encoder`), sorted; empty when the
    /// base has no such component.
    public func baseTensorNames(base: String, component: String) throws -> [String] {
        try catalog.read { connection in
            let id = try Store.baseID(named: base, in: connection)
            return try connection.fetchColumn("SELECT name FROM base_tensor WHERE base_id = ? AND component = ? ORDER BY name",
                                              [id, component], as: String.self)
        }
    }

    /// One stored tensor of a base component, in its stored dtype (fp16 stays fp16; memory-mapped blob).
    public func baseTensor(base: String, component: String, name: String) throws -> RawTensor {
        let id = try catalog.read { connection in try Store.baseID(named: base, in: connection) }
        return try baseTensor(baseID: id, component: component, name: name)
    }

    /// A base's kept file (`unet/config.json`, `scheduler/scheduler_config.json`, …), or nil.
    public func baseFile(base: String, path: String) throws -> Data? {
        let id = try catalog.read { connection in try Store.baseID(named: base, in: connection) }
        return try baseFile(baseID: id, path: path)
    }
}
