import Foundation

/// Held by tests that switch the process-wide `CONCEPTS_KERNELS` (DiffusionModelsTests' `onEveryKernelPath`) and by
/// tests whose goldens hold only on the default kernel path (GenerationParityTests' composition at 1e-6), so that
/// suites running concurrently in one test process never see each other's path.
public let kernelPathLock = NSLock()
