import Foundation

/// Runs `produce` on its own thread, handing its batches to the consumer through a bounded queue
/// (at most `capacity` batches in flight: memory stays bounded while reading, embedding and
/// encoding overlap with the SQLite inserts on the caller's thread).
///
/// The producer's error is rethrown by `next()` after the batches produced before it; the consumer
/// ends early with `close()` (the producer's next `push` returns false and it stops).
public final class CaptionImportPipeline<Batch: Sendable>: @unchecked Sendable {
    // `@unchecked Sendable`: every mutable field is accessed under `condition`.
    private let condition = NSCondition()
    private var queue: [Batch] = []
    private var finished = false
    private var closed = false
    private var failure: (any Error)?
    private let capacity: Int
    private let done = DispatchSemaphore(value: 0)

    /// Starts `produce`, which calls `push` per batch and stops when it returns false.
    public init(capacity: Int = 4, produce: @escaping @Sendable (_ push: (Batch) -> Bool) throws -> Void) {
        self.capacity = max(1, capacity)
        let thread = Thread { [self] in
            do {
                try produce { self.push($0) }
                finish(nil)
            } catch {
                finish(error)
            }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func push(_ batch: Batch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= capacity, !closed { condition.wait() }
        guard !closed else { return false }
        queue.append(batch)
        condition.broadcast()
        return true
    }

    private func finish(_ error: (any Error)?) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch; nil once the producer is done; throws the producer's error.
    public func next() throws -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty, !finished { condition.wait() }
        if !queue.isEmpty {
            let batch = queue.removeFirst()
            condition.broadcast()
            return batch
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops the producer and waits until its thread has returned (call once).
    public func close() {
        condition.lock()
        closed = true
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
        done.wait()
    }
}
