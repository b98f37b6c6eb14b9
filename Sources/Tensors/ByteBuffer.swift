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
    }

    /// Borrows `count` bytes at `pointer`, which stay valid as long as `owner` lives.
    public init(borrowing pointer: UnsafeRawPointer?, count: Int, owner: AnyObject) {
        baseAddress = pointer
        self.count = count
        self.owner = owner
        ownsMemory = false
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
