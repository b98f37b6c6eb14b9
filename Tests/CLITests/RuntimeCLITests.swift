import Foundation
import Testing
import TextEncoder

/// The built `concepts` picks OpenBLAS's vector kernels without any environment variable (`BLASRuntime.start`:
/// on a fallback core it sets `OPENBLAS_CORETYPE` and re-executes itself once), and `CONCEPTS_KERNELS` picks our
/// kernels' path — checked through the hidden `debug-runtime` command and through `encode`.
@Suite("runtime: OpenBLAS core and kernel path of the concepts binary")
struct RuntimeCLITests {
    static let flags: Set<String> = {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        return Set((cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? "").split(separator: " ").map(String.init))
    }()
    static let vectorCores: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]
    /// What `BLASRuntime.start` asks for on this CPU.
    static let requestedCore = flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) ? "SkylakeX" : "Haswell"

    func runtime(env: [String: String] = [:], unsetting: [String] = ["OPENBLAS_CORETYPE", "CONCEPTS_KERNELS", "CONCEPTS_BLAS_THREADS"]) throws -> [String: Any] {
        // Variables given in `env` are kept, the others of `unsetting` removed.
        let r = try runConcepts(["debug-runtime", "--json"], env: env, unsetting: unsetting.filter { env[$0] == nil })
        #expect(r.status == 0, "\(r.stderr)")
        return try jsonObject(r.stdout)
    }

    @Test("without OPENBLAS_CORETYPE the binary runs a vector core (AVX2/AVX-512 CPUs)")
    func noVariableNeeded() throws {
        guard Self.flags.isSuperset(of: ["avx2", "fma"]) else { return }
        let info = try runtime()
        let core = try #require(info["openblas_core"] as? String)
        #expect(Self.vectorCores.contains(core.lowercased()), "core \(core)")
        // Set at start exactly when OpenBLAS fell back by itself (then it is the core we asked for).
        if info["openblas_coretype_set_at_start"] as? Bool == true {
            #expect(core == Self.requestedCore && info["openblas_coretype"] as? String == Self.requestedCore)
        } else {
            #expect(info["openblas_coretype"] is NSNull || info["openblas_coretype"] == nil)
        }
        #expect(info["openblas_threads"] as? Int == 1, "one BLAS thread outside big products")
    }

    @Test("a fallback core (simulated) is fixed by one re-exec with OPENBLAS_CORETYPE; a user's choice is kept")
    func reexec() throws {
        guard Self.flags.isSuperset(of: ["avx2", "fma"]) else { return }
        let fixed = try runtime(env: ["CONCEPTS_SIMULATE_OPENBLAS_FALLBACK": "1"])
        #expect(fixed["openblas_core"] as? String == Self.requestedCore)
        #expect(fixed["openblas_coretype"] as? String == Self.requestedCore)
        #expect(fixed["openblas_coretype_set_at_start"] as? Bool == true)
        let chosen = try runtime(env: ["CONCEPTS_SIMULATE_OPENBLAS_FALLBACK": "1", "OPENBLAS_CORETYPE": "Haswell"])
        #expect(chosen["openblas_core"] as? String == "Haswell")
        #expect(chosen["openblas_coretype_set_at_start"] as? Bool == false)
    }

    @Test("CONCEPTS_KERNELS picks the kernel path; encode gives the same bits on AVX2 and AVX-512, BLAS within 1e-5")
    func kernelSwitch() throws {
        let best = KernelPath.supported
        #expect(try runtime()["kernel_path"] as? String == best.name)
        #expect(try runtime()["kernel_path_supported"] as? String == best.name)
        #expect(try runtime(env: ["CONCEPTS_KERNELS": "avx2"])["kernel_path"] as? String == min(KernelPath.avx2, best).name)
        #expect(try runtime(env: ["CONCEPTS_KERNELS": "generic"])["kernel_path"] as? String == "generic")

        let store = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-runtime-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: store) }
        #expect(try runConcepts(["--store", store, "base", "add", "tiny", fixturePath("sd-tiny/base")]).status == 0)
        func hidden(_ path: KernelPath) throws -> [Double] {
            let r = try runConcepts(["--store", store, "encode", "--base", "tiny", "a photo of a cat", "a dog", "--json"],
                                    env: ["CONCEPTS_KERNELS": path.name])
            #expect(r.status == 0, "\(r.stderr)")
            let items = try #require(try jsonObject(r.stdout)["results"] as? [[String: Any]])
            return items.flatMap { (($0["hidden"] as? [[Double]]) ?? []).flatMap { $0 } }
        }
        let outputs = try KernelPath.available.map { ($0, try hidden($0)) }
        let reference = try #require(outputs.last?.1)
        #expect(!reference.isEmpty)
        for (path, values) in outputs {
            #expect(values.count == reference.count)
            let worst = zip(values, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(path.hasPackedKernels ? values == reference : worst <= 1e-5, "\(path): \(worst)")
        }
    }
}
