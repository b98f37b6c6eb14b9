import Foundation
import Testing
@testable import TextEncoder

/// The run-time choice of the kernel path (`ck_instruction_set_in_use`, `CONCEPTS_KERNELS`, `KernelPath.$override`)
/// against the CPU flags of /proc/cpuinfo.
@Suite("Kernel paths")
struct KernelPathTests {
    static func cpuFlags() -> Set<String>? {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        let line = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: " ").map(String.init))
    }

    @Test("the CPU's best path follows /proc/cpuinfo: AVX-512F + FMA, else AVX2 + FMA + F16C, else generic")
    func supportedPath() throws {
        let flags = try #require(Self.cpuFlags())
        let expected: KernelPath = flags.isSuperset(of: ["avx512f", "fma"]) ? .avx512
            : flags.isSuperset(of: ["avx2", "fma", "f16c"]) ? .avx2 : .generic
        #expect(KernelPath.supported == expected)
        #expect(KernelPath.available == KernelPath.allCases.filter { $0 <= expected })
        #expect(KernelPath.available.first == .generic)
    }

    @Test("CONCEPTS_KERNELS lowers the path and never raises it; unknown values keep the CPU's best")
    func environmentSwitch() {
        let best = KernelPath.supported
        #expect(KernelPath.requested(nil) == best)
        #expect(KernelPath.requested("") == best)
        #expect(KernelPath.requested("auto") == best)
        #expect(KernelPath.requested("avx2") == min(.avx2, best))
        #expect(KernelPath.requested("generic") == .generic)
        #expect(KernelPath.requested("avx512") == best)
        #expect(KernelPath.requested("sse9") == best)
        #expect(KernelPath.avx2.name == "avx2" && KernelPath.avx512.name == "avx512" && KernelPath.generic.name == "generic")
    }

    @Test("a task's override picks the path of the weights it packs, lowered to what the CPU runs")
    func override() {
        for path in KernelPath.allCases {
            KernelPath.$override.withValue(path) {
                let weight = PackedLinearWeight([1, 2, 3, 4, 5, 6], outputs: 2, inputs: 3)
                #expect(KernelPath.current == min(path, KernelPath.supported))
                #expect(weight.path == KernelPath.current)
                #expect(weight.isPacked == KernelPath.current.hasPackedKernels)
            }
        }
    }
}
