import Foundation
import Sampling

/// `concepts generate PROMPT --base B [--concepts REF…] [--regset R] [--composition ID] [--negative TEXT]
/// [--steps N] [--guidance S] [--scheduler …] [--eta E] [--seed S] [--size WxH] [--count N] --out FILE.png`.
public struct GenerationRequest: Sendable {
    public var prompt: String
    public var base: String
    public var concepts: [String] = []
    public var regset: String?
    public var compositionID: String?
    public var negativePrompt: String = ""
    public var steps: Int = 25
    public var guidance: Double = 7.5
    public var sampler: SamplerKind = .dpmSolverPlusPlus
    public var eta: Double = 0
    public var seed: UInt64
    /// Width × height in pixels; nil: the UNet's native size (sample_size · VAE factor).
    public var size: (width: Int, height: Int)?
    public var count: Int = 1
    public var output: URL

    public init(prompt: String, base: String, seed: UInt64, output: URL) {
        self.prompt = prompt
        self.base = base
        self.seed = seed
        self.output = output
    }

    /// `WxH` (e.g. `512x512`): both positive multiples of 8.
    public static func parseSize(_ text: String) throws -> (width: Int, height: Int) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else {
            throw GenerationError.invalidSize("'\(text)' is not WxH (e.g. 512x512)")
        }
        guard w > 0, h > 0, w % 8 == 0, h % 8 == 0 else {
            throw GenerationError.invalidSize("\(w)x\(h): width and height must be positive multiples of 8")
        }
        guard w <= 4096, h <= 4096 else { throw GenerationError.invalidSize("\(w)x\(h): at most 4096 per side") }
        return (w, h)
    }

    /// The files written: FILE itself for one image, FILE-1.png … FILE-N.png (seeds S, S+1, …) for several.
    public var outputFiles: [URL] {
        guard count > 1 else { return [output] }
        let directory = output.deletingLastPathComponent()
        let ext = output.pathExtension.isEmpty ? "png" : output.pathExtension
        let stem = output.pathExtension.isEmpty ? output.lastPathComponent : output.deletingPathExtension().lastPathComponent
        return (1...count).map { directory.appendingPathComponent("\(stem)-\($0).\(ext)") }
    }

    /// Checks the options that need nothing from the store.
    public func validateOptions() throws {
        guard !prompt.isEmpty else { throw GenerationError.invalidOption(.prompt, "\"\"", "give a prompt") }
        guard (1...1000).contains(steps) else { throw GenerationError.invalidOption(.steps, String(steps), "between 1 and 1000") }
        guard guidance.isFinite, guidance >= 0 else { throw GenerationError.invalidOption(.guidance, String(guidance), "a number ≥ 0") }
        guard eta.isFinite, eta >= 0 else { throw GenerationError.invalidOption(.eta, String(eta), "a number ≥ 0") }
        guard eta == 0 || sampler == .ddim else { throw GenerationError.invalidOption(.eta, String(eta), "η applies to ddim only") }
        guard (1...100).contains(count) else { throw GenerationError.invalidOption(.count, String(count), "between 1 and 100") }
        guard concepts.isEmpty || compositionID == nil else {
            throw GenerationError.invalidOption(.composition, compositionID ?? "", "give either concepts or a composition, not both")
        }
        guard count == 1 || seed <= UInt64.max - UInt64(count) else { throw GenerationError.invalidOption(.seed, String(seed), "too large for the image count") }
    }

    /// The output directory must exist and be writable, and no output may be a directory.
    public func checkOutputWritable() throws {
        for file in outputFiles {
            let directory = file.deletingLastPathComponent()
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
                throw GenerationError.unwritableOutput(path: file.path, reason: "directory \(directory.path) does not exist")
            }
            guard isDirectory.boolValue else {
                throw GenerationError.unwritableOutput(path: file.path, reason: "\(directory.path) is not a directory")
            }
            if FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw GenerationError.unwritableOutput(path: file.path, reason: "it is a directory")
            }
            guard access(directory.path, W_OK) == 0 else {
                throw GenerationError.unwritableOutput(path: file.path, reason: "directory \(directory.path) is not writable")
            }
        }
    }
}
