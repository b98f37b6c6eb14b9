import Foundation

/// The store shared by the `registry` and `compose` suites: one temporary store per bench process, with
/// the SD1.x-sized base of `bench/generate_sd1_bench.py` added once (whichever suite runs first adds it
/// and keeps the timing) and concepts registered on demand. Every command is a whole `concepts`
/// process (the release binary next to `concepts-bench`, or `$CONCEPTS_BIN`), timed by `ChildProcess`.
/// The store is removed when the bench exits (`BENCH_KEEP_STORE=1` keeps it and prints its path).
enum SD1BenchStore {
    enum Failure: Error, CustomStringConvertible {
        case missingInputs(String)
        case missingBinary(String)
        var description: String {
            switch self {
            case .missingInputs(let path): "\(path) is missing: run `python3 bench/generate_sd1_bench.py` from the package root first"
            case .missingBinary(let path):
                "\(path) is missing: build it with `swift build -c release --product concepts` (same --scratch-path as concepts-bench), or set CONCEPTS_BIN"
            }
        }
    }

    /// `bench/out` of the package (the bench runs from the package root, like `make bench`).
    static let inputs = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("bench/out")
    static let basePath = inputs.appendingPathComponent("sd1-base")
    static let conceptsPath = inputs.appendingPathComponent("sd1-concepts")
    static let regsetFile = inputs.appendingPathComponent("regset.txt")
    /// Concept names and categories written by the generator, in its order (all trained as `<new1>`).
    static let concepts: [(name: String, category: String)] = [
        ("dog", "dog"), ("cat", "cat"), ("car", "car"), ("chair", "chair"), ("guitar", "guitar"), ("teapot", "teapot"),
        ("backpack", "backpack"), ("sunglasses", "sunglasses"), ("teddybear", "teddybear"), ("barn", "barn"),
    ]

    private struct State {
        var root: URL?
        var baseAdd: ChildProcess.Outcome?
        var registered: [String: ChildProcess.Outcome] = [:]
    }
    nonisolated(unsafe) private static var state = State()
    nonisolated(unsafe) private static var removeAtExit: String?

    /// The `concepts` executable.
    static func binary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["CONCEPTS_BIN"] { return path }
        let directory = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).deletingLastPathComponent()
        let path = directory.appendingPathComponent("concepts").path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw Failure.missingBinary(path) }
        return path
    }

    static func checkInputs() throws {
        for url in [basePath.appendingPathComponent("unet/diffusion_pytorch_model.fp16.safetensors"),
                    conceptsPath.appendingPathComponent("barn/pytorch_custom_diffusion_weights.safetensors"), regsetFile]
        where !FileManager.default.fileExists(atPath: url.path) {
            throw Failure.missingInputs(url.path)
        }
    }

    /// The store directory (created on first use, removed at exit).
    static func root() throws -> URL {
        if let root = state.root { return root }
        try checkInputs()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sd1-bench-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        state.root = root
        if ProcessInfo.processInfo.environment["BENCH_KEEP_STORE"] == "1" {
            FileHandle.standardError.write(Data("sd1 bench store kept at \(root.path)\n".utf8))
        } else {
            removeAtExit = root.path
            atexit { if let path = SD1BenchStore.removeAtExit { try? FileManager.default.removeItem(atPath: path) } }
        }
        return root
    }

    /// A scratch directory inside the store's parent, removed by the caller.
    static func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sd1-bench-\(name)-\(UUID().uuidString)")
    }

    /// `concepts --store ROOT arguments… --json`, whole process.
    static func concepts(_ arguments: [String]) throws -> ChildProcess.Outcome {
        let root = try root()
        progress(arguments)
        return try ChildProcess.run(try binary(), ["--store", root.path] + arguments + ["--json"])
    }

    static func progress(_ arguments: [String]) {
        FileHandle.standardError.write(Data("  concepts \(arguments.joined(separator: " "))\n".utf8))
    }

    /// `base add sd1 bench/out/sd1-base` on the fresh store, once; its outcome.
    @discardableResult
    static func ensureBase() throws -> ChildProcess.Outcome {
        if let outcome = state.baseAdd { return outcome }
        let outcome = try concepts(["base", "add", "sd1", basePath.path])
        state.baseAdd = outcome
        return outcome
    }

    /// `register NAME --base sd1 --category C <concept folder>` with the default policy, once per name;
    /// the outcome of that registration.
    @discardableResult
    static func ensureConcept(_ name: String, category: String) throws -> ChildProcess.Outcome {
        if let outcome = state.registered[name] { return outcome }
        try ensureBase()
        let outcome = try concepts(["register", name, "--base", "sd1", "--category", category,
                                    conceptsPath.appendingPathComponent(name).path])
        state.registered[name] = outcome
        return outcome
    }
}

/// Median of already measured values (the upper one of the two middle values for an even count; 0 when empty).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}
