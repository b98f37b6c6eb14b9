import ArgumentParser
import Foundation
import Generation
import Registry
import Sampling

/// `concepts generate PROMPT --base B [--concepts REF…] [--regset R] [--composition ID] [--negative TEXT] [--steps N]
/// [--guidance S] [--scheduler dpm++|ddim|ddpm|euler] [--eta E] [--seed S] [--size WxH] [--count N] --out FILE.png`.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Draw an image from a base model with concepts applied (the same image diffusers draws for the seed).",
        discussion: """
            Several --concepts are merged with the cached closed-form composition (as `compose`); one concept uses its \
            own weights; --composition ID reuses a recorded composition. Write the concepts' tokens (`compose` prints \
            them, e.g. <new1-cat>) in the prompt. --count N writes FILE-1.png … FILE-N.png with seeds S, S+1, ….
            """)

    @OptionGroup var options: StoreOptions

    @OptionGroup var output: OutputOptions
    @Argument(help: "The prompt.") var prompt: String
    @Option(help: "Base model name.") var base: String
    @Option(parsing: .upToNextOption, help: "Concept references to apply (NAME, NAME@N, NAME@ALIAS).") var concepts: [String] = []
    @Option(help: "Regularization set for the composition (default: the shipped set).") var regset: String?
    @Option(help: "A recorded composition id (from `compose`) to apply instead of --concepts.") var composition: String?
    @Option(help: "Negative prompt (the unconditional branch of guidance).") var negative: String = ""
    @Option(help: "Denoising steps.") var steps: Int = 25
    @Option(help: "Classifier-free guidance scale (≤ 1: no guidance).") var guidance: Double = 7.5
    @Option(help: "dpm++, ddim, ddpm or euler.", transform: SchedulerChoice.parser(flag: "--scheduler")) var scheduler: SchedulerChoice = .dpmSolverPlusPlus
    @Option(help: "DDIM's η (0: deterministic).") var eta: Double = 0
    @Option(help: "Random seed (default: a random one, reported).") var seed: UInt64?
    @Option(help: "Image size WxH, multiples of 8 (default: the base's native size).") var size: String?
    @Option(help: "Number of images (seeds S, S+1, …).") var count: Int = 1
    @Option(help: "Output PNG file.") var out: String

    func run() throws {
        var request = GenerationRequest(prompt: prompt, base: base, seed: seed ?? UInt64.random(in: 0...UInt64(UInt32.max)),
                                        output: URL(fileURLWithPath: out))
        request.concepts = concepts
        request.regset = regset
        request.compositionID = composition
        request.negativePrompt = negative
        request.steps = steps
        request.guidance = guidance
        request.sampler = scheduler.sampler
        request.eta = eta
        request.count = count
        if let size { request.size = try GenerationRequest.parseSize(size) }
        try request.validateOptions()
        try request.checkOutputWritable()

        let store = try options.open(create: false)
        InterruptCleanup.shared.install()
        let pipeline = try GenerationPipeline(prepare: request, store: store, backend: GenerationBackend.current)
        for token in pipeline.tokensMissingFromPrompt {
            FileHandle.standardError.write(Data("warning: token \(token) does not occur in the prompt; its concept will not show\n".utf8))
        }
        let reporter = StepReporter(terminal: isatty(STDERR_FILENO) != 0)
        let result = try pipeline.run { reporter.report($0) }
        reporter.finish()
        try output.emit(result) {
            var lines = result.files.map { "wrote \($0)" }
            lines.append("seed \(result.seed), \(String(format: "%.2f", result.seconds)) s (\(String(format: "%.3f", result.secondsPerStep)) s/step)")
            lines += result.concepts.map { "  \($0.reference) (\($0.version))" }
            return lines.joined(separator: "\n")
        }
    }
}

/// Step progress on stderr: a bar redrawn in place (step, s/step, ETA) when stderr is a terminal, one line per
/// step otherwise.
final class StepReporter {
    let terminal: Bool
    private var drewBar = false

    init(terminal: Bool) { self.terminal = terminal }

    func report(_ p: GenerationPipeline.Progress) {
        let remaining = Double((p.images - p.image) * p.steps + (p.steps - p.step)) * p.secondsPerStep
        let image = p.images > 1 ? "image \(p.image)/\(p.images) " : ""
        if terminal {
            let width = 30
            let filled = p.step * width / max(p.steps, 1)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let line = "\r\(image)[\(bar)] \(p.step)/\(p.steps)  \(String(format: "%.2f", p.secondsPerStep)) s/step  ETA \(Self.duration(remaining))\u{1B}[K"
            FileHandle.standardError.write(Data(line.utf8))
            drewBar = true
        } else {
            FileHandle.standardError.write(Data("\(image)step \(p.step)/\(p.steps) \(String(format: "%.3f", p.secondsPerStep)) s/step ETA \(Self.duration(remaining))\n".utf8))
        }
    }

    func finish() {
        if drewBar { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
