@testable import DiffusionModels
import Foundation
import Testing

/// `LargeBufferPool`: large `FloatBuffer`s come from it, a released buffer is reused whole by the next request of
/// its size class, and no more than the retained limit is ever kept after release.
@Suite(.serialized)
struct LargeBufferPoolTests {
    @Test func releasedBuffersAreReusedAndTheRetainedBytesBounded() {
        let floats = 3 << 20  // 12 MB: over the threshold, 6 units of 2 MiB
        let size = LargeBufferPool.mappedSize((floats + 16) * 4)
        #expect(size == 14 << 20)
        let before = LargeBufferPool.retainedBytes
        var first: FloatBuffer? = FloatBuffer(count: floats)
        let address = first.map { UnsafeMutableRawPointer($0.pointer) }
        first?.pointer.update(repeating: 1.5, count: floats)  // the whole buffer is writable
        first = nil
        if before + size <= LargeBufferPool.retainedLimit {
            #expect(LargeBufferPool.retainedBytes == before + size)
            let second = FloatBuffer(count: floats - 1)  // same size class: the same mapping again
            #expect(UnsafeMutableRawPointer(second.pointer) == address)
            #expect(LargeBufferPool.retainedBytes == before)
        }
        // Releasing far more than the limit keeps at most the limit.
        var many: [FloatBuffer] = (0..<(LargeBufferPool.retainedLimit / size + 3)).map { _ in FloatBuffer(count: floats) }
        many.removeAll()
        #expect(LargeBufferPool.retainedBytes <= LargeBufferPool.retainedLimit)
        // Small buffers stay with malloc and never enter the pool.
        let retained = LargeBufferPool.retainedBytes
        _ = FloatBuffer(count: 1000)
        #expect(LargeBufferPool.retainedBytes == retained)
    }
}
