import Foundation

/// Immutable bytes that tensors point into: either memory this buffer owns, or a region of
/// something else kept alive by `owner` (a memory-mapped file, for zero-copy reads).
///
/// `@unchecked Sendable`: the bytes are never written after `init`, and `owner` is only retained.
public final class ByteBuffer: @unchecked Sendable {
    public let baseAddress: UnsafeRawPointer?
    public let count: Int
    private let owner: AnyObject?
    private let ownsMemory: Bool
    /// True when the bytes live in a read-only file mapping (directly or through a parent buffer).
    public let isFileMapped: Bool

    /// Copies `bytes` into memory owned by the new buffer.
    public init(copying bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        if bytes.count > 0, let source = bytes.baseAddress {
            let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
            memory.copyMemory(from: source, byteCount: bytes.count)
            baseAddress = UnsafeRawPointer(memory)
            ownsMemory = true
        } else {
            baseAddress = nil
            ownsMemory = false
        }
        owner = nil
        isFileMapped = false
    }

    /// Copies `data`.
    public convenience init(copying data: some DataProtocol) {
        let contiguous = Data(data)
        self.init(unsafeUninitializedCount: contiguous.count) { target in
            contiguous.withUnsafeBytes { target.copyMemory(from: $0) }
        }
    }

    /// Allocates `count` bytes and lets `initialize` fill them (every byte must be written).
    public init(unsafeUninitializedCount count: Int, initialize: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self.count = count
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        do {
            try initialize(UnsafeMutableRawBufferPointer(start: memory, count: count))
        } catch {
            memory.deallocate()
            throw error
        }
        baseAddress = UnsafeRawPointer(memory)
        ownsMemory = true
        owner = nil
        isFileMapped = false
    }

    /// Borrows `count` bytes at `pointer`, which stay valid as long as `owner` lives.
    public init(borrowing pointer: UnsafeRawPointer?, count: Int, owner: AnyObject) {
        baseAddress = pointer
        self.count = count
        self.owner = owner
        ownsMemory = false
        isFileMapped = owner is FileMappingOwner || (owner as? ByteBuffer)?.isFileMapped == true
    }

    deinit {
        if ownsMemory, let baseAddress { UnsafeMutableRawPointer(mutating: baseAddress).deallocate() }
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: baseAddress, count: count))
    }

    /// A sub-range sharing this buffer's memory.
    public func slice(_ range: Range<Int>) -> ByteBuffer {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "slice out of bounds")
        return ByteBuffer(borrowing: baseAddress.map { $0 + range.lowerBound }, count: range.count, owner: self)
    }

    /// A copy of the bytes as `Data`.
    public var data: Data { withUnsafeBytes { Data($0) } }
}

#if canImport(Glibc)
import Glibc
#endif

extension ByteBuffer {
    /// Tells the kernel this buffer's pages will not be needed soon (`madvise(MADV_DONTNEED)` on the
    /// whole pages inside it). For a buffer that borrows from a read-only file mapping this drops the
    /// pages from the resident set (they are re-read from the file if touched again): streaming a
    /// multi-GB file tensor by tensor then keeps memory flat. Does nothing for buffers that are
    /// not file-mapped (on anonymous memory `MADV_DONTNEED` would zero the bytes).
    public func releaseResidentPages() {
        guard isFileMapped, let baseAddress, count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: baseAddress) + page - 1) / page * page
        let end = (Int(bitPattern: baseAddress) + count) / page * page
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        madvise(pointer, end - start, Int32(MADV_DONTNEED))
    }
}

/// Marks an object that owns a read-only file mapping (see `MappedFile`).
protocol FileMappingOwner: AnyObject {}
