import CKernels

/// The instruction-set path of our CPU kernels (`Sources/CKernels`): AVX-512F, AVX2 + FMA + F16C, or
/// `generic` (BLAS `sgemm` for the linear layers and attention). The paths of the packed linear kernel and
/// of the attention kernel give the same bits on AVX-512 and AVX2; `generic` agrees to rounding.
///
/// The path in use is the CPU's best, lowered by `CONCEPTS_KERNELS` (`avx2`, `generic`; see
/// `ck_instruction_set_in_use`) or, inside a task, by `KernelPath.$override` (tests run every path the
/// machine supports in one process without touching the environment).
public enum KernelPath: String, Sendable, CaseIterable, Comparable {
    case generic, avx2, avx512

    /// The path for a C instruction set.
    init(_ set: ck_instruction_set) {
        switch set {
        case CK_AVX512: self = .avx512
        case CK_AVX2: self = .avx2
        default: self = .generic
        }
    }

    /// The C instruction set of this path.
    var instructionSet: ck_instruction_set {
        switch self {
        case .avx512: CK_AVX512
        case .avx2: CK_AVX2
        case .generic: CK_GENERIC
        }
    }

    /// Whether the packed kernels run (anything but `generic`).
    public var hasPackedKernels: Bool { self != .generic }

    /// The best path this CPU runs.
    public static var supported: KernelPath { KernelPath(ck_supported_instruction_set()) }

    /// Every path this CPU runs, from `generic` up.
    public static var available: [KernelPath] { allCases.filter { $0 <= supported } }

    /// A path forced for the current task and its children (lowered to what the CPU runs); `nil`: the
    /// environment decides.
    @TaskLocal public static var override: KernelPath?

    /// The path kernels use now: the task's override, else `CONCEPTS_KERNELS` over the CPU's best.
    public static var current: KernelPath {
        if let forced = override { return min(forced, supported) }
        return KernelPath(ck_instruction_set_in_use())
    }

    /// The path `CONCEPTS_KERNELS=value` selects on this CPU (`nil`: unset; unknown values keep the CPU's best).
    public static func requested(_ value: String?) -> KernelPath {
        guard let value else { return KernelPath(ck_instruction_set_requested(nil)) }
        return value.withCString { KernelPath(ck_instruction_set_requested($0)) }
    }

    /// The name `ck_instruction_set_name` gives (`avx512`, `avx2`, `generic`), as the benchmarks report it.
    public var name: String { String(cString: ck_instruction_set_name(instructionSet)) }

    public static func < (lhs: KernelPath, rhs: KernelPath) -> Bool { lhs.instructionSet.rawValue < rhs.instructionSet.rawValue }
}
