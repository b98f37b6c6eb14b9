import Foundation
import TestSupport
import GRDB
@testable import Registry
import TensorFormats

/// Paths into `fixtures/sd-tiny/` (made by `python3 fixtures/generate_sd_tiny.py`): a tiny SD1-layout
/// pipeline (16 attn2 layers, h ∈ {4, 8}, d = 32) and Custom Diffusion outputs in every format.
enum SDTiny {
    static let root = fixturesDirectory.appendingPathComponent("sd-tiny")
    static let base = root.appendingPathComponent("base")
    static let baseCompVis = root.appendingPathComponent("base-compvis.safetensors")
    static func concept(_ name: String) -> URL { root.appendingPathComponent("concepts/\(name)") }
    static func golden(_ name: String) -> URL { root.appendingPathComponent("golden/\(name)") }

    /// The true ΔW per `<layer>.to_k|to_v` and `embedding.<token>`, as torch computed them.
    static func goldenTensors(_ name: String) throws -> [String: RawTensor] {
        try Safetensors.read(path: golden(name).path).byName
    }
}

extension TestStore {
    /// A store with the tiny base added as `tiny`.
    static func withTinyBase() throws -> TestStore {
        let t = try TestStore()
        _ = try BaseModelImporter.add(name: "tiny", path: SDTiny.base, to: t.store)
        return t
    }

    func register(_ name: String, _ fixture: String, categories: [String] = ["cat"], tokens: [String] = [],
                  policy: String = "lossless", force: Bool = false, tags: [String] = [], base: String = "tiny") throws -> RegisterResult {
        try ConceptRegistrar.register(
            RegisterRequest(name: name, base: base, path: SDTiny.concept(fixture), categories: categories, tokens: tokens,
                            compression: try .init(parsing: policy), tags: tags, force: force), in: store)
    }

    /// Rows in a catalog table.
    func count(_ table: String) throws -> Int {
        try store.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }
}
