import Foundation
import Testing

/// `concepts generate` through the built binary on the tiny pipeline: the JSON result, the PNG and its parameters,
/// progress lines, and an interrupt that leaves no PNG.
@Suite("generate CLI run", .serialized)
struct GenerateRunCLITests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-generate-run-\(UUID().uuidString)")
    var store: String { root.appendingPathComponent("store").path }

    func setUp() throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent("out"), withIntermediateDirectories: true)
        for args in [["base", "add", "tiny", fixturePath("sd-tiny/base")],
                     ["register", "cat", "--base", "tiny", "--category", "cat", "--compress", "lossless", fixturePath("sd-tiny/concepts/cat-diffusers")],
                     ["register", "dog", "--base", "tiny", "--category", "dog", "--compress", "lossless", fixturePath("sd-tiny/concepts/dog-diffusers")]] {
            let r = try runConcepts(["--store", store] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
    }

    @Test func generatesWithJSONAndWarnings() throws {
        try setUp()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("out/cat-dog.png").path
        let r = try runConcepts(["--store", store, "generate", "a <new1> cat", "--base", "tiny", "--concepts", "cat", "dog",
                                 "--steps", "3", "--seed", "5", "--count", "2", "--out", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect((json["files"] as? [String])?.map { URL(fileURLWithPath: $0).lastPathComponent } == ["cat-dog-1.png", "cat-dog-2.png"])
        #expect(json["seed"] as? Int == 5)
        #expect((json["seconds"] as? Double ?? 0) > 0 && (json["seconds_per_step"] as? Double ?? 0) > 0)
        #expect((json["concepts"] as? [[String: String]]) == [["reference": "cat", "version": "cat@1"], ["reference": "dog", "version": "dog@1"]])
        #expect(r.stderr.contains("warning: token <new1-dog> does not occur in the prompt"))
        #expect(r.stderr.contains("step 3/3"))  // stderr is not a terminal: one line per step
        for file in json["files"] as? [String] ?? [] {
            let png = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(png.range(of: Data("parameters".utf8)) != nil)
            #expect(png.range(of: Data("Concepts: cat@1, dog@1".utf8)) != nil)
        }
    }

    @Test func anInterruptLeavesNoPNG() throws {
        try setUp()
        defer { try? FileManager.default.removeItem(at: root) }
        guard let binary = conceptsBinary else { throw CLITestSupportError(description: "no concepts binary") }
        let outDir = root.appendingPathComponent("out")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--store", store, "generate", "a cat", "--base", "tiny", "--steps", "999", "--scheduler", "ddpm",
                             "--size", "128x128", "--out", outDir.appendingPathComponent("x.png").path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait for sampling to start, then interrupt.
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("step 1/") {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        #expect(String(decoding: seen, as: UTF8.self).contains("step 1/999"))
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outDir.path).isEmpty)
    }
}
