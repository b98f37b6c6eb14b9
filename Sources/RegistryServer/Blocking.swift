import Dispatch

/// Runs blocking work (SQLite, blob files, the solver) off Swift's cooperative pool and NIO's event
/// loops, on a Dispatch queue, and returns its result.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try work() })
        }
    }
}
