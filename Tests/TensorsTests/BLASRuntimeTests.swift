import Foundation
import Testing
@testable import Tensors

/// `BLASRuntime`: when the start-up fix asks for `OPENBLAS_CORETYPE` (and which), and the thread policy. The
/// re-execution itself is checked on the built `concepts` (CLITests, `debug-runtime`).
@Suite("BLAS runtime")
struct BLASRuntimeTests {
    static let avx512: Set<String> = ["sse2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq"]
    static let avx2: Set<String> = ["sse2", "avx", "avx2", "fma", "f16c"]

    @Test("a fallback core on an AVX-512 or AVX2 CPU asks for SkylakeX or Haswell, as scripts/env.sh does")
    func fallbackCores() {
        for core in ["Prescott", "Core2", "Nehalem", "Sandybridge", "Barcelona", "unknown"] {
            #expect(BLASRuntime.coreTypeToRequest(core: core, cpuFlags: Self.avx512, environment: [:]) == "SkylakeX", "\(core)")
            #expect(BLASRuntime.coreTypeToRequest(core: core, cpuFlags: Self.avx2, environment: [:]) == "Haswell", "\(core)")
        }
        // AVX-512F alone (no BW/VL/DQ: Xeon Phi) is not SkylakeX material.
        #expect(BLASRuntime.coreTypeToRequest(core: "Prescott", cpuFlags: Self.avx2.union(["avx512f"]), environment: [:]) == "Haswell")
    }

    @Test("nothing is asked for a vector core, a CPU without AVX2 + FMA, a user's choice, or after the re-exec")
    func leftAlone() {
        for core in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", "HASWELL"] {
            #expect(BLASRuntime.coreTypeToRequest(core: core, cpuFlags: Self.avx512, environment: [:]) == nil, "\(core)")
        }
        #expect(BLASRuntime.coreTypeToRequest(core: "Prescott", cpuFlags: ["sse2", "sse3", "avx"], environment: [:]) == nil)
        #expect(BLASRuntime.coreTypeToRequest(core: "Prescott", cpuFlags: ["avx2"], environment: [:]) == nil, "AVX2 without FMA")
        #expect(BLASRuntime.coreTypeToRequest(core: "Prescott", cpuFlags: Self.avx512, environment: ["OPENBLAS_CORETYPE": "Prescott"]) == nil)
        #expect(BLASRuntime.coreTypeToRequest(core: "Prescott", cpuFlags: Self.avx512, environment: [BLASRuntime.reexecMarker: "1"]) == nil)
        // The test hook treats a vector core as a fallback, but still respects the user and the loop guard.
        #expect(BLASRuntime.coreTypeToRequest(core: "Cooperlake", cpuFlags: Self.avx512, environment: [:], simulateFallback: true) == "SkylakeX")
        #expect(BLASRuntime.coreTypeToRequest(core: "Cooperlake", cpuFlags: Self.avx512, environment: ["OPENBLAS_CORETYPE": "Zen"],
                                              simulateFallback: true) == nil)
    }

    @Test("this process runs OpenBLAS's vector kernels where the CPU has AVX2 + FMA (tests run with scripts/env.sh)")
    func coreInUse() {
        let flags = BLASRuntime.cpuFlags()
        if flags.isSuperset(of: ["avx2", "fma"]) {
            #expect(BLASRuntime.vectorCores.contains(BLASRuntime.coreName.lowercased()), "core \(BLASRuntime.coreName)")
        }
        #expect(flags.isEmpty || flags.contains("sse2"), "parsed /proc/cpuinfo flags: \(flags.count)")
    }

    @Test("one BLAS thread below 4 GFLOP, every processor above")
    func threadPolicy() {
        #expect(BLASRuntime.automaticThreads(forFlops: 0) == 1)
        #expect(BLASRuntime.automaticThreads(forFlops: 2 * 77 * 768 * 3072) == 1)
        let processors = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #expect(BLASRuntime.automaticThreads(forFlops: 2 * 2048 * 2048 * 2048) == processors)
        #expect(BLASRuntime.automaticThreads(forFlops: BLASRuntime.parallelFlops) == processors)
    }

    @Test("a lower threshold for back-to-back products (the diffusion models' 0.1 GFLOP)")
    func threadPolicyWithThreshold() {
        let processors = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let conv = 2.0 * 1024 * 640 * 5760  // a 32×32 latent's 3×3 convolution at 640 channels (im2col product)
        #expect(BLASRuntime.automaticThreads(forFlops: 2e8, parallelFrom: 1e8) == processors)
        #expect(BLASRuntime.automaticThreads(forFlops: 5e7, parallelFrom: 1e8) == 1)
        #expect(BLASRuntime.automaticThreads(forFlops: 2e8) == 1)
        #expect(BLASRuntime.automaticThreads(forFlops: conv, parallelFrom: 1e8) == processors)
    }
}
