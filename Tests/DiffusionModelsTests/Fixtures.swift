import Tensors
import Testing
import CKernels
import DiffusionModels
import Foundation
import TestSupport
import TensorFormats

/// The committed fixtures (`fixtures/`).
enum Fixtures {
    static let root: URL = fixturesDirectory

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// A goldens file (written by fixtures/generate_sd_tiny_vae_unet.py) by tensor name.
    static func goldens(_ name: String) throws -> [String: RawTensor] {
        try Safetensors.read(path: url("generation/\(name)").path).byName
    }

    static func floats(_ goldens: [String: RawTensor], _ name: String) throws -> [Float] {
        guard let tensor = goldens[name] else { throw FixtureError.missing(name) }
        return try tensor.floats()
    }

    static func unetConfiguration() throws -> UNetConfiguration {
        try UNetConfiguration.decode(Data(contentsOf: url("sd-tiny/base/unet/config.json")))
    }

    static func unetWeights() throws -> TensorDictionaryWeights {
        try TensorDictionaryWeights(componentDirectory: url("sd-tiny/base/unet"))
    }

    enum FixtureError: Error { case missing(String) }
}

/// ‖a − b‖∞ / ‖b‖∞ (the tests' relative error).
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "lengths \(a.count) and \(b.count)")
    var difference: Float = 0, scale: Float = 0
    for i in a.indices {
        difference = max(difference, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return difference / max(scale, .leastNormalMagnitude)
}

/// Every kernel path this CPU runs (`CONCEPTS_KERNELS` values): generic, and avx2 / avx512 when supported.
let kernelPaths: [String] = {
    var paths = ["generic"]
    let supported = ck_supported_instruction_set()
    if supported.rawValue >= CK_AVX2.rawValue { paths.append("avx2") }
    if supported.rawValue >= CK_AVX512.rawValue { paths.append("avx512") }
    return paths
}()

// `kernelPathLock` (TestSupport) is held while a test runs on a chosen kernel path: `CONCEPTS_KERNELS` is
// process-wide and suites run concurrently.

/// Runs `body` once per kernel path with `CONCEPTS_KERNELS` set to it (restored afterwards), one test at a time
/// across suites (`kernelPathLock`), since the variable is process-wide.
func onEveryKernelPath(_ body: (String) throws -> Void) rethrows {
    kernelPathLock.lock()
    defer { kernelPathLock.unlock() }
    let saved = getenv("CONCEPTS_KERNELS").map { String(cString: $0) }
    defer { if let saved { setenv("CONCEPTS_KERNELS", saved, 1) } else { unsetenv("CONCEPTS_KERNELS") } }
    for path in kernelPaths {
        setenv("CONCEPTS_KERNELS", path, 1)
        #expect(String(cString: ck_instruction_set_name(ck_instruction_set_in_use())) == path)
        try body(path)
    }
}
