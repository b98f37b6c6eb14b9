import Foundation
import TestSupport
import Testing

/// The `concepts` binary's caption commands: JSON contract and the error contract (`error:` + exit 1).
@Suite struct CaptionsCLITests {
    static let fixtures = fixtureURL("captions")

    /// Runs the built `concepts` (next to the test bundle) and returns (status, stdout, stderr).
    func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let binary = Bundle.main.bundleURL.appendingPathComponent("concepts")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func importSearchAndErrors() throws {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: store) }
        let golden = Self.fixtures.appendingPathComponent("golden.txt").path
        let npy = Self.fixtures.appendingPathComponent("golden_f32.npy").path
        let (status, stdout, _) = try run(["--store", store, "captions", "import", golden, "--embeddings", npy, "--json"])
        #expect(status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        #expect(object?["set"] as? String == "default")
        #expect(object?["imported"] as? Int == 60)
        #expect(object?["skipped_duplicates"] as? Int == 0)

        let (s2, o2, _) = try run(["--store", store, "encoder", "add", "tiny", Self.fixtures.appendingPathComponent("encoder").path, "--json"])
        #expect(s2 == 0)
        let encoder = try JSONSerialization.jsonObject(with: Data(o2.utf8)) as? [String: Any]
        #expect(encoder?["hidden_size"] as? Int == 32 && encoder?["projection_dim"] as? Int == 16)

        let (s3, o3, _) = try run(["--store", store, "captions", "search", "a city at night", "--encoder", "tiny", "--threshold", "0.892", "--json"])
        #expect(s3 == 0)
        let search = try JSONSerialization.jsonObject(with: Data(o3.utf8)) as? [String: Any]
        let results = search?["results"] as? [[String: Any]] ?? []
        #expect(results.compactMap { $0["caption"] as? String } == ["a city at night", "a man at night", "a house at night", "a painting of a bird"])
        #expect(search?["encode_ms"] is Double && search?["search_ms"] is Double)

        let ragged = Self.fixtures.appendingPathComponent("files/bad_ragged.csv").path
        let (s4, o4, e4) = try run(["--store", store, "captions", "import", ragged, "--embeddings", npy, "--json"])
        #expect(s4 == 1 && o4.isEmpty)
        #expect(e4 == "error: \(ragged):3: 3 fields, the header has 2\n")

        let (s5, _, e5) = try run(["--store", store, "regset", "show", "nope"])
        #expect(s5 == 1 && e5.hasPrefix("error: unknown regularization set 'nope'"))
    }
}
