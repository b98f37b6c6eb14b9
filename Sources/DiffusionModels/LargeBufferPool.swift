import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the models' large activations and work buffers (≥ `threshold` bytes) come from: anonymous mappings of
/// whole 2 MiB units, marked `MADV_HUGEPAGE` (transparent huge pages: one fault and one TLB entry per 2 MiB instead
/// of 512), reused after release.
///
/// A denoising step allocates and frees the same sizes in the same order every time (several GB per 512² step).
/// Through `malloc` those buffers either came back as fresh pages (a fault and a zeroed page per 4 KiB: `malloc`
/// maps anything over 32 MB itself) or stayed in the heap, fragmented, after the step (200 MB of the peak RSS at
/// 512²). Here a released mapping is kept and handed to the next request it fits (at most twice the size asked),
/// as long as the mappings in use plus those kept stay within the most ever in use at once (`highWater`, at
/// least `retainedFloor`); beyond that it is unmapped. So the pool's resident memory never exceeds the peak of
/// the live buffers (+ the floor), and from the second step on most requests reuse pages that are already there
/// instead of the kernel zeroing new ones.
public enum LargeBufferPool {
    /// Requests of at least this many bytes use the pool (smaller ones stay with `malloc`).
    static let threshold = 1 << 20

    /// Bytes that may be kept beyond the high-water mark of the live buffers (`CONCEPTS_BUFFER_POOL_MB` overrides).
    static let retainedFloor: Int = {
        if let value = ProcessInfo.processInfo.environment["CONCEPTS_BUFFER_POOL_MB"], let mb = Int(value), mb >= 0 { return mb << 20 }
        return 32 << 20
    }()

    private static let unit = 2 << 20

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var free: [(pointer: UnsafeMutableRawPointer, size: Int)] = []  // released mappings, oldest first
        var retained = 0  // bytes in `free`
        var live = 0  // bytes handed out and not given back
        var highWater = 0  // the most `live` has been
        var newlyMapped = 0  // bytes ever mapped (each zeroed by the kernel on first touch)
        var reused = 0  // bytes handed out again from `free`
    }
    private static let state = State()

    /// The mapped size of a request of `bytes` (whole 2 MiB units).
    static func mappedSize(_ bytes: Int) -> Int { (bytes + unit - 1) / unit * unit }

    /// A mapping of at least `bytes` bytes (page-aligned, so 64-byte aligned) and its size, or nil when the system
    /// refuses one.
    static func take(_ bytes: Int) -> (pointer: UnsafeMutableRawPointer, size: Int)? {
        let wanted = mappedSize(bytes)
        state.lock.lock()
        defer { state.lock.unlock() }
        // The smallest kept mapping that fits, if it is at most twice the size asked.
        var best: Int?
        for (index, entry) in state.free.enumerated() where entry.size >= wanted && entry.size <= 2 * wanted {
            if best.map({ entry.size < state.free[$0].size }) ?? true { best = index }
        }
        if let best {
            let entry = state.free.remove(at: best)
            state.retained -= entry.size
            state.reused += entry.size
            state.live += entry.size
            state.highWater = max(state.highWater, state.live)
            return entry
        }
        guard let mapped = mmap(nil, wanted, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else { return nil }
        _ = madvise(mapped, wanted, MADV_HUGEPAGE)
        state.live += wanted
        state.newlyMapped += wanted
        state.highWater = max(state.highWater, state.live)
        // Keep live + kept within the budget: unmap the oldest kept mappings first.
        while state.live + state.retained > budget, !state.free.isEmpty {
            let oldest = state.free.removeFirst()
            state.retained -= oldest.size
            munmap(oldest.pointer, oldest.size)
        }
        return (mapped, wanted)
    }

    /// Gives back a mapping from `take`: kept for reuse while the budget allows, else unmapped.
    static func give(_ pointer: UnsafeMutableRawPointer, size: Int) {
        state.lock.lock()
        defer { state.lock.unlock() }
        state.live -= size
        if state.live + state.retained + size <= budget {
            state.free.append((pointer, size))
            state.retained += size
        } else {
            munmap(pointer, size)
        }
    }

    /// What live and kept mappings may total (the caller holds the lock).
    private static var budget: Int { state.highWater + retainedFloor }

    /// Bytes kept for reuse now.
    static var retainedBytes: Int {
        state.lock.lock()
        defer { state.lock.unlock() }
        return state.retained
    }

    /// Bytes mapped in all now: in use plus kept.
    static var mappedBytes: Int {
        state.lock.lock()
        defer { state.lock.unlock() }
        return state.live + state.retained
    }

    /// The most bytes ever in use at once, plus the floor: what `mappedBytes` stays within.
    static var limit: Int {
        state.lock.lock()
        defer { state.lock.unlock() }
        return budget
    }

    /// Bytes mapped afresh and bytes handed out again since the process started (benchmarks report both).
    public static var traffic: (newlyMapped: Int, reused: Int) {
        state.lock.lock()
        defer { state.lock.unlock() }
        return (state.newlyMapped, state.reused)
    }
}
