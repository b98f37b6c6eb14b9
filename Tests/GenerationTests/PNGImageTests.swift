import Foundation
import Testing
@testable import Generation

/// PNG output through libpng: pixels and the "parameters" text chunk read back with libpng.
@Suite struct PNGImageTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("png-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func pixelsAndParametersRoundTrip() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (w, h) = (5, 3)
        let pixels = (0..<(w * h * 3)).map { UInt8(($0 * 37) % 256) }
        let parameters = GenerationParameters(
            prompt: "a <new1-cat> cat sitting next to a <new1-dog> dog", negativePrompt: "blurry", steps: 4, sampler: "DPM++ 2M",
            guidance: 7.5, seed: 42, width: w, height: h, base: "sd-tiny", concepts: ["cat@1", "dog@2"], eta: nil)
        let url = directory.appendingPathComponent("out.png")
        try PNGImage(width: w, height: h, pixels: pixels, text: [("parameters", parameters.text)]).write(atomicallyTo: url)
        let back = try PNGImage.read(from: url)
        #expect(back.width == w && back.height == h)
        #expect(back.pixels == pixels)
        #expect(back.text.map(\.key) == ["parameters"])
        #expect(back.text.first?.value == """
            a <new1-cat> cat sitting next to a <new1-dog> dog
            Negative prompt: blurry
            Steps: 4, Sampler: DPM++ 2M, CFG scale: 7.5, Seed: 42, Size: 5x3, Model: sd-tiny, Concepts: cat@1, dog@2
            """)
        // Only the final file is left: the temporary sibling was renamed.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.png"])
        // The file really is a PNG (signature).
        let signature = try Data(contentsOf: url).prefix(8)
        #expect(Array(signature) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    @Test func nonASCIIParametersGoIntoITXt() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("unicode.png")
        let text = "ein Kätzchen im Schnee ❄︎\nSteps: 1, Sampler: Euler, CFG scale: 1, Seed: 0, Size: 1x1, Model: m"
        try PNGImage(width: 1, height: 1, pixels: [1, 2, 3], text: [("parameters", text)]).write(to: url)
        #expect(try PNGImage.read(from: url).text.first?.value == text)
        let bytes = try Data(contentsOf: url)
        #expect(bytes.range(of: Data("iTXt".utf8)) != nil)
        #expect(bytes.range(of: Data("tEXt".utf8)) == nil)
    }

    @Test func badInputIsAnErrorNotACrash() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: GenerationError.self) {
            try PNGImage(width: 2, height: 2, pixels: [0, 0, 0], text: []).write(to: directory.appendingPathComponent("short.png"))
        }
        #expect(throws: GenerationError.self) {
            try PNGImage(width: 1, height: 1, pixels: [0, 0, 0]).write(atomicallyTo: directory.appendingPathComponent("missing/dir/x.png"))
        }
        let notPNG = directory.appendingPathComponent("not.png")
        try Data("hello".utf8).write(to: notPNG)
        #expect(throws: GenerationError.self) { try PNGImage.read(from: notPNG) }
    }
}
