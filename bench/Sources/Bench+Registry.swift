import Foundation

/// Suite `registry` (issue 3 §10): whole `concepts` processes on the SD1.x-sized inputs of
/// `bench/generate_sd1_bench.py` (a 1.7 GB fp16 UNet + CLIP ViT-L/14 text encoder pipeline folder, and
/// 77 MB fp32 Custom Diffusion outputs), on a fresh temporary store (`SD1BenchStore`).
///
/// Figures (wall seconds from spawn to exit, CPU seconds, peak RSS from `wait4`):
/// - `base_add`: `base add sd1 bench/out/sd1-base` on the empty store, with `bytes_new`/`bytes_total`;
///   `base_add_again`: the same folder under a second name (every blob already stored: hashing only).
/// - `register.<policy>`: `register` of the `dog` concept with each compression policy (`error:0.05` is
///   the default), median of 3 registrations under distinct names, with `stored_bytes` and
///   `max_relative_error` from the JSON. This includes the "merge keys" (the concept's target prompts
///   encoded with the base's text encoder, docs/METHOD.md).
/// - `register_without_merge_keys`: the default policy on a base holding only the UNet (same blobs, no
///   text encoder, so `register` skips the merge keys); the difference to `register.error:0.05` estimates
///   the merge-key time (`merge_keys_seconds_estimate`).
/// - `torch_svd_reference`: `bench/compress_torch.py` (torch's SVD, what the original compress step
///   does) on the very same 32 deltas (`bench/out/sd1-concepts/dog-deltas.safetensors`), when python3
///   with torch is available.
/// Targets: default-policy `register` ≤ 1.5 s whole process and ≤ 15 MB stored.
enum RegistryBench {
    static let policies = ["error:0.05", "energy:0.6", "rank:8", "fp16", "lossless"]
    static let runs = 3

    static let suite = BenchSuite(name: "registry") {
        var figures: [String: Any] = [:]
        let baseAdd = try SD1BenchStore.ensureBase()
        figures["base_add"] = try baseFigures(baseAdd)
        figures["base_add_again"] = try baseFigures(try SD1BenchStore.concepts(["base", "add", "sd1-again", SD1BenchStore.basePath.path]))

        let dog = SD1BenchStore.conceptsPath.appendingPathComponent("dog").path
        var perPolicy: [String: Any] = [:]
        for policy in policies {
            var outcomes: [ChildProcess.Outcome] = []
            for run in 1...runs {
                let name = "dog-\(policy.replacingOccurrences(of: ":", with: "-"))-\(run)"
                outcomes.append(try SD1BenchStore.concepts(["register", name, "--base", "sd1", "--category", "dog", "--compress", policy, dog]))
            }
            perPolicy[policy] = try registerFigures(outcomes)
        }
        figures["register"] = perPolicy

        // The same registration on a base without a text encoder: no merge keys.
        let unetOnly = SD1BenchStore.scratch("unet-only")
        try FileManager.default.createDirectory(at: unetOnly, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: unetOnly) }
        try FileManager.default.createSymbolicLink(at: unetOnly.appendingPathComponent("unet"),
                                                   withDestinationURL: SD1BenchStore.basePath.appendingPathComponent("unet"))
        _ = try SD1BenchStore.concepts(["base", "add", "sd1-unet-only", unetOnly.path])
        var bare: [ChildProcess.Outcome] = []
        for run in 1...runs {
            bare.append(try SD1BenchStore.concepts(["register", "dog-no-keys-\(run)", "--base", "sd1-unet-only", "--category", "dog", dog]))
        }
        let bareFigures = try registerFigures(bare)
        figures["register_without_merge_keys"] = bareFigures
        let withKeys = (perPolicy["error:0.05"] as? [String: Any])?["seconds"] as? Double ?? 0
        figures["merge_keys_seconds_estimate"] = withKeys - ((bareFigures["seconds"] as? Double) ?? 0)

        let storedDefault = ((perPolicy["error:0.05"] as? [String: Any])?["stored_bytes"] as? Int) ?? Int.max
        figures["targets"] = [
            "register_default_seconds_max": 1.5, "register_default_seconds": withKeys, "register_default_seconds_met": withKeys <= 1.5,
            "register_default_stored_bytes_max": 15_000_000, "register_default_stored_bytes": storedDefault,
            "register_default_stored_bytes_met": storedDefault <= 15_000_000,
        ] as [String: Any]
        figures["torch_svd_reference"] = torchReference()
        figures["concept_source_bytes"] = (try? FileManager.default.attributesOfItem(
            atPath: SD1BenchStore.conceptsPath.appendingPathComponent("dog/pytorch_custom_diffusion_weights.safetensors").path)[.size] as? Int) ?? 0
        figures["load_average_1min"] = loadAverage()
        return figures
    }

    static func baseFigures(_ outcome: ChildProcess.Outcome) throws -> [String: Any] {
        let json = try outcome.json()
        var figures = outcome.figures
        for key in ["bytes_new", "bytes_total", "tensors", "architecture"] { figures[key] = json[key] }
        return figures
    }

    /// Median seconds (and the CPU seconds and peak RSS of the median run), stored bytes and error of the first.
    static func registerFigures(_ outcomes: [ChildProcess.Outcome]) throws -> [String: Any] {
        let sorted = outcomes.sorted { $0.seconds < $1.seconds }
        let middle = sorted[sorted.count / 2]
        let json = try outcomes[0].json()
        var figures = middle.figures
        figures["seconds_all"] = outcomes.map(\.seconds)
        figures["stored_bytes"] = json["stored_bytes"]
        figures["max_relative_error"] = (json["compression"] as? [String: Any])?["max_relative_error"]
        return figures
    }

    /// `bench/compress_torch.py` run on the registry's own deltas: the script reads
    /// `<its folder>/out/compression-deltas.safetensors`, so a copy of it runs from a scratch folder
    /// whose `out/` links to `dog-deltas.safetensors` (the script itself is unchanged).
    static func torchReference() -> Any {
        let script = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("bench/compress_torch.py")
        let deltas = SD1BenchStore.conceptsPath.appendingPathComponent("dog-deltas.safetensors")
        guard ChildProcess.succeeds("python3", ["-c", "import torch, safetensors"]),
              FileManager.default.fileExists(atPath: script.path), FileManager.default.fileExists(atPath: deltas.path)
        else { return "skipped: needs python3 with torch and safetensors, bench/compress_torch.py and the generated deltas" }
        let folder = SD1BenchStore.scratch("compress-torch")
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("out"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: script, to: folder.appendingPathComponent("compress_torch.py"))
            try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("out/compression-deltas.safetensors"), withDestinationURL: deltas)
            SD1BenchStore.progress(["(python3 bench/compress_torch.py on dog's deltas)"])
            let outcome = try ChildProcess.run("python3", [folder.appendingPathComponent("compress_torch.py").path])
            var figures = try outcome.json()
            figures["whole_process_seconds"] = outcome.seconds
            return figures
        } catch {
            return "failed: \(error)"
        }
    }

    /// The 1-minute load average (timings on a busy 2-core machine are only comparable with it), or -1.
    static func loadAverage() -> Double {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) > 0 ? loads[0] : -1
    }
}
