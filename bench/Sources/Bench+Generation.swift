import CBLAS
import CKernels
import DiffusionModels
import Foundation
import Tensors

/// `generation`: the Swift UNet and VAE decoder on the SD1-shaped random-weight pipeline of
/// `bench/generate_sd1_bench.py` (bench/out/sd1-base: fp16 UNet, Float32 VAE), on each kernel path the CPU runs
/// (`CONCEPTS_KERNELS=avx512` / `avx2`, the latter with `OPENBLAS_CORETYPE=Haswell` so OpenBLAS uses its AVX2
/// kernels as on an AVX2-only CPU), each in its own child process (`concepts-bench generation-worker`) so that
/// its peak RSS is its own. Per path: seconds per denoising step with classifier-free guidance (the UNet on batch 2)
/// at 512² and 256² (latents 64² / 32²), one VAE decode at 512², peak RSS, GFLOP/s of the matrix products
/// (2·m·n·k per sgemm over the step's seconds), OpenBLAS's core and threads. Beside it, diffusers on the same files
/// (`python3 bench/unet_torch.py`: torch, 2 threads, Float32) when python3 has torch and diffusers.
/// `GENERATION_STEPS` (default 2) sets the timed steps per size (after one warm-up step); for profiling,
/// `GENERATION_SIZES=512` and `GENERATION_VAE=0` narrow the worker.
enum GenerationBench {
    static let base = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("out/sd1-base")

    static let suite = BenchSuite(name: "generation") {
        guard FileManager.default.fileExists(atPath: base.appendingPathComponent("vae/config.json").path) else {
            return ["skipped": "needs bench/out/sd1-base with vae/ (python3 bench/generate_sd1_bench.py)"]
        }
        var report: [String: Any] = [:]
        var paths = ["avx2"]
        if ck_supported_instruction_set() == CK_AVX512 { paths.insert("avx512", at: 0) }
        let saved = getenv("CONCEPTS_KERNELS").map { String(cString: $0) }
        let savedCore = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        defer {
            if let saved { setenv("CONCEPTS_KERNELS", saved, 1) } else { unsetenv("CONCEPTS_KERNELS") }
            if let savedCore { setenv("OPENBLAS_CORETYPE", savedCore, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
        }
        for path in paths {
            setenv("CONCEPTS_KERNELS", path, 1)
            // What an AVX2-only CPU gets: OpenBLAS's Haswell (AVX2 + FMA) kernels too, not only ours.
            if path == "avx2" { setenv("OPENBLAS_CORETYPE", "Haswell", 1) } else if let savedCore { setenv("OPENBLAS_CORETYPE", savedCore, 1) }
            FileHandle.standardError.write(Data("bench: generation on \(path)…\n".utf8))
            let outcome = try ChildProcess.run(CommandLine.arguments[0], ["generation-worker"])
            var figures = try outcome.lastJSONLine()
            figures["max_rss_mb"] = outcome.maxRSSMegabytes
            report[path] = figures
        }
        let script = base.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("unet_torch.py")
        if ChildProcess.succeeds("python3", ["-c", "import torch, diffusers"]) {
            FileHandle.standardError.write(Data("bench: generation, diffusers (python3 bench/unet_torch.py)…\n".utf8))
            let steps = ProcessInfo.processInfo.environment["GENERATION_STEPS"] ?? "2"
            let outcome = try ChildProcess.run("python3", [script.path, "--base", base.path, "--steps", steps])
            var figures = try outcome.lastJSONLine()
            figures["max_rss_mb"] = outcome.maxRSSMegabytes
            report["diffusers"] = figures
            for path in paths {
                guard var ours = report[path] as? [String: Any] else { continue }
                for size in [256, 512] {
                    if let theirs = figures["seconds_per_step_\(size)"] as? Double, let mine = ours["seconds_per_step_\(size)"] as? Double {
                        ours["speedup_vs_diffusers_\(size)"] = theirs / mine
                    }
                    if let theirs = figures["cpu_seconds_per_step_\(size)"] as? Double, let mine = ours["cpu_seconds_per_step_\(size)"] as? Double {
                        ours["cpu_speedup_vs_diffusers_\(size)"] = theirs / mine
                    }
                }
                if let theirs = figures["vae_decode_seconds_512"] as? Double, let mine = ours["vae_decode_seconds_512"] as? Double {
                    ours["vae_speedup_vs_diffusers"] = theirs / mine
                }
                report[path] = ours
            }
        } else {
            report["diffusers"] = "skipped: needs python3 with torch and diffusers"
        }
        return report
    }

    /// The child: loads the pipeline, times the steps and the decode, prints one JSON line.
    static func worker() throws {
        let steps = Int(ProcessInfo.processInfo.environment["GENERATION_STEPS"] ?? "") ?? 2
        var figures: [String: Any] = [
            "kernel_path": String(cString: ck_instruction_set_name(ck_instruction_set_in_use())),
            "openblas_core": String(cString: openblas_get_corename()),
            "openblas_threads": Int(openblas_get_num_threads()),
        ]
        var rng = SplitMix64(seed: 7)
        try unetFigures(into: &figures, steps: steps, rng: &rng)  // the UNet is released before the VAE loads
        if ProcessInfo.processInfo.environment["GENERATION_VAE"] == "0" {
            FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]) + Data("\n".utf8))
            return
        }
        let vaeFolder = base.appendingPathComponent("vae")
        let vaeConfiguration = try VAEConfiguration.decode(Data(contentsOf: vaeFolder.appendingPathComponent("config.json")))
        let decoder = try AutoencoderKLDecoder(configuration: vaeConfiguration, weights: TensorDictionaryWeights(componentDirectory: vaeFolder))
        let z = (0..<(4 * 64 * 64)).map { _ in rng.nextSymmetric() }
        let before = GEMMStatistics.flops
        let vaeSeconds = try measureSeconds { _ = try decoder.decodeToRGB8(latents: z, batch: 1, height: 64, width: 64) }
        figures["vae_decode_seconds_512"] = vaeSeconds
        figures["vae_gflops"] = Double(GEMMStatistics.flops - before) / 1e9 / vaeSeconds
        let data = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func unetFigures(into figures: inout [String: Any], steps: Int, rng: inout SplitMix64) throws {
        let unetFolder = base.appendingPathComponent("unet")
        var model: UNet2DConditionModel?
        figures["unet_load_seconds"] = try measureSeconds {
            let configuration = try UNetConfiguration.decode(Data(contentsOf: unetFolder.appendingPathComponent("config.json")))
            let weights = try TensorDictionaryWeights(
                safetensorsPath: unetFolder.appendingPathComponent("diffusion_pytorch_model.fp16.safetensors").path)
            model = try UNet2DConditionModel(configuration: configuration, weights: weights)
        }
        guard let unet = model else { throw CocoaError(.coderInvalidValue) }
        figures["rss_after_unet_load_mb"] = processMemory("VmRSS")
        let sizes = (ProcessInfo.processInfo.environment["GENERATION_SIZES"] ?? "256,512").split(separator: ",").compactMap { Int($0) }
        for size in sizes {
            let latent = size / 8
            // A guided step's input, as pipelines build it: the same latents twice (unconditional, text).
            let sample = (0..<(4 * latent * latent)).map { _ in rng.nextSymmetric() }
            let x = sample + sample
            let text = (0..<(2 * 77 * 768)).map { _ in rng.nextSymmetric() }
            _ = try unet.predict(latents: x, batch: 2, height: latent, width: latent, timestep: 999, encoderHiddenStates: text,
                                 sequenceLength: 77)  // warm-up
            var times: [Double] = []
            var flops = 0
            let cpuBefore = processCPUSeconds()
            for step in 0..<steps {
                let before = GEMMStatistics.flops
                times.append(try measureSeconds {
                    let eps = try unet.predict(latents: x, batch: 2, height: latent, width: latent, timestep: Double(999 - 20 * step),
                                               encoderHiddenStates: text, sequenceLength: 77)
                    // classifier-free guidance ε = ε_u + s(ε_c − ε_u)
                    let half = eps.count / 2
                    _ = (0..<half).map { eps[$0] + 7.5 * (eps[half + $0] - eps[$0]) }
                })
                flops = GEMMStatistics.flops - before
            }
            let seconds = times.sorted()[times.count / 2]
            // Process CPU seconds (all threads) per step: steadier than wall time on a shared machine.
            figures["cpu_seconds_per_step_\(size)"] = (processCPUSeconds() - cpuBefore) / Double(steps)
            figures["seconds_per_step_\(size)"] = seconds
            figures["gflop_per_step_\(size)"] = Double(flops) / 1e9
            figures["gflops_\(size)"] = Double(flops) / 1e9 / seconds
            figures["peak_rss_after_\(size)_mb"] = processMemory("VmHWM")
            let pool = LargeBufferPool.traffic
            figures["buffers_mapped_mb_after_\(size)"] = Double(pool.newlyMapped) / 1048576
            figures["buffers_reused_mb_after_\(size)"] = Double(pool.reused) / 1048576
        }
    }

    /// A `/proc/self/status` figure (`VmRSS`, `VmHWM`: the peak RSS so far) in MiB, or -1 where there is none.
    static func processMemory(_ field: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
              let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return -1 }
        return kb / 1024
    }
}
