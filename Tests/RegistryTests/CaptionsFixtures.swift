import Foundation
import TestSupport
@testable import Registry

/// Fixtures of fixtures/generate_captions.py.
enum CaptionsFixtures {
    static let directory = fixturesDirectory.appendingPathComponent("captions")
    static func path(_ relative: String) -> String { directory.appendingPathComponent(relative).path }

    struct Search: Decodable {
        struct Hit: Decodable { let caption: String; let similarity: Double }
        let query: String
        let embedding: [Float]
        let threshold: Float
        let expected: [Hit]
    }
    struct SearchFile: Decodable { let captions: Int; let dimension: Int; let searches: [Search] }

    static func searches() throws -> SearchFile {
        try JSONDecoder().decode(SearchFile.self, from: Data(contentsOf: directory.appendingPathComponent("search.json")))
    }

    /// A store with the golden caption set imported from the fp32 `.npy` as set `golden`.
    static func goldenStore() throws -> TestStore {
        let t = try TestStore()
        _ = try t.store.importCaptions(file: path("golden.txt"), set: "golden", source: .numpy(path: path("golden_f32.npy")))
        return t
    }

    /// A store with the sd-tiny base added as `tiny`.
    static func storeWithTinyBase() throws -> TestStore {
        let t = try TestStore()
        _ = try BaseModelImporter.add(name: "tiny", path: fixturesDirectory.appendingPathComponent("sd-tiny/base"), to: t.store)
        return t
    }
}
