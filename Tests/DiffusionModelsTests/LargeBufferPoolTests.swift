@testable import DiffusionModels
import Foundation
import Testing

/// `LargeBufferPool`: large `FloatBuffer`s come from it, a released mapping is handed to the next request it fits
/// (at most twice its size), and live plus kept mappings never exceed the most ever live at once plus the floor.
@Suite(.serialized)
struct LargeBufferPoolTests {
    @Test func releasedMappingsAreReused() {
        let floats = 3 << 20  // 12 MB + slack: 7 units of 2 MiB
        #expect(LargeBufferPool.mappedSize((floats + 16) * 4) == 14 << 20)
        var first: FloatBuffer? = FloatBuffer(count: floats)
        let address = first.map { UnsafeMutableRawPointer($0.pointer) }
        first?.pointer.update(repeating: 1.5, count: floats)  // the whole buffer is writable
        first = nil
        let second = FloatBuffer(count: 1 << 19)  // 2 units asked: a 7-unit mapping is more than twice that
        #expect(UnsafeMutableRawPointer(second.pointer) != address)
        let third = FloatBuffer(count: floats - 1)  // 7 units: the released mapping again
        #expect(UnsafeMutableRawPointer(third.pointer) == address)
        #expect(third.pointer[0] == 1.5)  // reused as it was, not a fresh zeroed page
    }

    @Test func mappedBytesStayWithinTheLiveHighWaterMark() {
        var live: [FloatBuffer] = (0..<6).map { _ in FloatBuffer(count: 1 << 21) }  // 6 × 8 MB live at once
        let limit = LargeBufferPool.limit
        live.removeAll()
        #expect(LargeBufferPool.mappedBytes <= limit)
        // Many requests of other sizes, one at a time: never more mapped than the limit.
        for k in 1...20 {
            let buffer = FloatBuffer(count: (1 << 20) * (k % 7 + 1))
            buffer.pointer[0] = 1
            #expect(LargeBufferPool.mappedBytes <= LargeBufferPool.limit)
        }
        #expect(LargeBufferPool.limit == limit)  // one buffer at a time never raised the high-water mark
        // Small buffers stay with malloc and never enter the pool.
        let mapped = LargeBufferPool.mappedBytes
        _ = FloatBuffer(count: 1000)
        #expect(LargeBufferPool.mappedBytes == mapped)
    }
}
