import Foundation
import Testing

/// `concepts generate` bad input through the built binary: each is a clear `error:` before any sampling, and no
/// PNG (or temporary file) is left behind.
@Suite("generate CLI", .serialized)
struct GenerateCLITests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-generate-cli-\(UUID().uuidString)")
    var store: String { root.appendingPathComponent("store").path }
    var outDir: URL { root.appendingPathComponent("out") }

    /// A store with `tiny` (sd-tiny), `compvis` (the CompVis single file: no config files, no VAE) and the cat concept.
    func setUp() throws {
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let base = URL(fileURLWithPath: fixturePath("sd-tiny/base"))
        for args in [["base", "add", "tiny", base.path], ["base", "add", "compvis", fixturePath("sd-tiny/base-compvis.safetensors")],
                     ["register", "cat", "--base", "tiny", "--category", "cat", fixturePath("sd-tiny/concepts/cat-diffusers")]] {
            let r = try runConcepts(["--store", store] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
    }

    func generate(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runConcepts(["--store", store, "generate"] + args)
    }

    @Test func badInputIsRefusedBeforeSampling() throws {
        try setUp()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = outDir.appendingPathComponent("x.png").path
        let cases: [(args: [String], status: Int32, message: String)] = [
            (["a cat", "--base", "tiny", "--size", "100x64", "--out", out], 1, "multiples of 8"),
            (["a cat", "--base", "tiny", "--size", "big", "--out", out], 1, "is not WxH"),
            (["a cat", "--base", "tiny", "--scheduler", "plms", "--out", out], 64, "--scheduler must be one of dpm++, ddim, ddpm, euler"),
            (["a cat", "--base", "tiny", "--concepts", "nosuch", "--out", out], 1, "unknown concept 'nosuch'"),
            (["a cat", "--base", "nosuch", "--out", out], 1, "unknown base model 'nosuch'"),
            (["a cat", "--base", "compvis", "--out", out], 1, "base 'compvis' cannot generate images: no unet/config.json, vae/config.json, scheduler/scheduler_config.json, vae weights"),
            (["a cat", "--base", "tiny", "--out", root.appendingPathComponent("missing/x.png").path], 1, "does not exist"),
            (["a cat", "--base", "tiny", "--out", outDir.path], 1, "it is a directory"),
            (["a cat", "--base", "tiny", "--steps", "0", "--out", out], 1, "--steps 0"),
            (["a cat", "--base", "tiny", "--scheduler", "ddpm", "--steps", "1000", "--out", out], 1, "reach timestep 1000"),
            (["a cat", "--base", "tiny", "--eta", "0.5", "--out", out], 1, "ddim only"),
            (["a cat", "--base", "tiny", "--concepts", "cat", "--composition", "abc", "--out", out], 1, "not both"),
            (["a cat", "--base", "tiny", "--composition", "abc", "--out", out], 1, "no composition 'abc' was recorded"),
        ]
        for c in cases {
            let r = try generate(c.args)
            #expect(r.status == c.status, "\(c.args): status \(r.status), stderr \(r.stderr)")
            #expect(r.stderr.contains(c.message), "\(c.args): \(r.stderr)")
            #expect(!r.stderr.contains("step 1/"), "\(c.args) started sampling")
            #expect(r.stdout.isEmpty)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outDir.path).isEmpty)
    }

    @Test func anOutputUnderAFileIsRefused() throws {
        try setUp()
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        let r = try generate(["a cat", "--base", "tiny", "--out", file.appendingPathComponent("x.png").path])
        #expect(r.status == 1 && r.stderr.contains("is not a directory"), "\(r.stderr)")
        #expect(try Data(contentsOf: file) == Data("x".utf8))
    }
}
