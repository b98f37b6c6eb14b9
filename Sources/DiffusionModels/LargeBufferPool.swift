import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the models' large activations and work buffers (≥ `threshold` bytes) come from: anonymous mappings of
/// whole 2 MiB units, marked `MADV_HUGEPAGE` (transparent huge pages: one fault and one TLB entry per 2 MiB instead
/// of 512), kept for reuse after release up to `retainedLimit` bytes in all, and unmapped beyond it.
///
/// A denoising step allocates and frees the same sizes in the same order every time (several GB per 512² step).
/// Through `malloc` those buffers either came back as fresh pages (a page fault and a zeroed page per 4 KiB) or
/// stayed in the heap, fragmented, after the step (200 MB of the peak RSS at 512²). Here a released buffer is
/// either reused whole by the next request of its size class or returned to the system, so the resident memory
/// is the live buffers plus at most `retainedLimit`.
enum LargeBufferPool {
    /// Requests of at least this many bytes use the pool (smaller ones stay with `malloc`).
    static let threshold = 1 << 20

    /// Released buffers kept for reuse, in bytes at most (`CONCEPTS_BUFFER_POOL_MB` overrides; 0 keeps none).
    static let retainedLimit: Int = {
        if let value = ProcessInfo.processInfo.environment["CONCEPTS_BUFFER_POOL_MB"], let mb = Int(value), mb >= 0 { return mb << 20 }
        return 64 << 20
    }()

    private static let unit = 2 << 20

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var free: [Int: [UnsafeMutableRawPointer]] = [:]  // mapped size → released mappings
        var retained = 0
    }
    private static let state = State()

    /// The mapped size of a request of `bytes` (whole 2 MiB units).
    static func mappedSize(_ bytes: Int) -> Int { (bytes + unit - 1) / unit * unit }

    /// A mapping of at least `bytes` bytes (page-aligned, so 64-byte aligned), or nil when the system refuses.
    static func take(_ bytes: Int) -> UnsafeMutableRawPointer? {
        let size = mappedSize(bytes)
        state.lock.lock()
        if var list = state.free[size], let reused = list.popLast() {
            state.free[size] = list.isEmpty ? nil : list
            state.retained -= size
            state.lock.unlock()
            return reused
        }
        state.lock.unlock()
        guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else { return nil }
        _ = madvise(mapped, size, MADV_HUGEPAGE)
        return mapped
    }

    /// Gives back a mapping from `take(bytes)`: kept for reuse while the pool has room, else unmapped.
    static func give(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        let size = mappedSize(bytes)
        state.lock.lock()
        if state.retained + size <= retainedLimit {
            state.free[size, default: []].append(pointer)
            state.retained += size
            state.lock.unlock()
            return
        }
        state.lock.unlock()
        munmap(pointer, size)
    }

    /// Bytes held for reuse now.
    static var retainedBytes: Int {
        state.lock.lock()
        defer { state.lock.unlock() }
        return state.retained
    }
}
