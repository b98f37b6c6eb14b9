import ArgumentParser
import Tensors
import TextEncoder

/// `concepts debug-runtime` (hidden; not part of the CLI contract): which CPU kernels this process runs —
/// our kernel path (`CONCEPTS_KERNELS`) and OpenBLAS's core and threads, after `BLASRuntime.start` has fixed
/// a fallback core. For checking a machine and for the tests of that start-up fix.
struct RuntimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-runtime", abstract: "Print the kernel path and OpenBLAS core in use.", shouldDisplay: false)
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let kernelPath: String
        let kernelPathSupported: String
        let openblasCore: String
        let openblasCoretype: String?
        let openblasCoretypeSetAtStart: Bool
        let openblasThreads: Int

        enum CodingKeys: String, CodingKey {
            case kernelPath = "kernel_path", kernelPathSupported = "kernel_path_supported", openblasCore = "openblas_core"
            case openblasCoretype = "openblas_coretype", openblasCoretypeSetAtStart = "openblas_coretype_set_at_start"
            case openblasThreads = "openblas_threads"
        }
    }

    func run() throws {
        let result = Result(kernelPath: KernelPath.current.name, kernelPathSupported: KernelPath.supported.name,
                            openblasCore: BLASRuntime.coreName, openblasCoretype: BLASRuntime.environmentCoreType,
                            openblasCoretypeSetAtStart: BLASRuntime.coreTypeSetAtStart, openblasThreads: BLASRuntime.threadCount)
        try output.emit(result) {
            "kernels \(result.kernelPath) (CPU: \(result.kernelPathSupported)), OpenBLAS core \(result.openblasCore)"
                + (result.openblasCoretypeSetAtStart ? " (OPENBLAS_CORETYPE=\(result.openblasCoretype ?? "") set at start)" : "")
                + ", \(result.openblasThreads) thread(s)"
        }
    }
}
