import Foundation

/// A 64-byte-aligned Float32 buffer the kernels read and write through raw pointers (activations are large and
/// short-lived; this avoids Swift arrays' copy-on-write checks in the layer code).
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    /// The size of the mapping from `LargeBufferPool` (0: from `malloc`).
    private let pooledBytes: Int

    /// `count` floats, uninitialised (plus a few floats of slack that kernels may read past the end). Large buffers
    /// come from `LargeBufferPool` (huge pages, reused across steps).
    init(count: Int) {
        self.count = count
        let bytes = max(64, (count + 16) * MemoryLayout<Float>.stride)
        if bytes >= LargeBufferPool.threshold, let mapped = LargeBufferPool.take(bytes) {
            pooledBytes = mapped.size
            pointer = mapped.pointer.bindMemory(to: Float.self, capacity: count + 16)
        } else {
            pooledBytes = 0
            let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            pointer = raw.bindMemory(to: Float.self, capacity: count + 16)
        }
    }

    convenience init(copying values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit {
        if pooledBytes > 0 {
            LargeBufferPool.give(UnsafeMutableRawPointer(pointer), size: pooledBytes)
        } else {
            pointer.deallocate()
        }
    }

    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// A batch of channel-major images (NCHW, Float32).
struct FeatureMap {
    let buffer: FloatBuffer
    let batch: Int
    let channels: Int
    let height: Int
    let width: Int

    init(batch: Int, channels: Int, height: Int, width: Int) {
        self.init(buffer: FloatBuffer(count: batch * channels * height * width), batch: batch, channels: channels,
                  height: height, width: width)
    }

    init(buffer: FloatBuffer, batch: Int, channels: Int, height: Int, width: Int) {
        self.buffer = buffer
        self.batch = batch
        self.channels = channels
        self.height = height
        self.width = width
    }

    var spatial: Int { height * width }
    var sampleCount: Int { channels * height * width }

    /// The first value of sample `b`.
    func sample(_ b: Int) -> UnsafeMutablePointer<Float> { buffer.pointer + b * sampleCount }

    /// The first sample copied `batch` times.
    func repeatingSample(_ batch: Int) -> FeatureMap {
        let out = FeatureMap(batch: batch, channels: channels, height: height, width: width)
        for b in 0..<batch { out.sample(b).update(from: sample(0), count: sampleCount) }
        return out
    }

    /// Whether every sample equals the first, value for value (bit patterns: −0 ≠ +0, NaN ≠ nothing).
    var samplesIdentical: Bool {
        (1..<max(1, batch)).allSatisfy { memcmp(sample(0), sample($0), sampleCount * MemoryLayout<Float>.stride) == 0 }
    }

    /// The channel concatenation `[self, other]` per sample (diffusers' `torch.cat([h, skip], dim=1)`).
    func concatenatingChannels(_ other: FeatureMap) -> FeatureMap {
        let out = FeatureMap(batch: batch, channels: channels + other.channels, height: height, width: width)
        for b in 0..<batch {
            out.sample(b).update(from: sample(b), count: sampleCount)
            (out.sample(b) + sampleCount).update(from: other.sample(b), count: other.sampleCount)
        }
        return out
    }
}
