import Dispatch
import Foundation

/// Runs `work` on another thread right away; `wait()` returns its result. Used to overlap I/O-bound
/// loading (the base text encoder: read, decompress, verify) with BLAS-bound work on the caller.
///
/// `@unchecked Sendable`: `result` is written once by the worker before `group` is left, and read
/// only after `group.wait()`.
final class BackgroundTask<Value: Sendable>: @unchecked Sendable {
    private let group = DispatchGroup()
    private var result: Result<Value, Error>?

    init(_ work: @escaping @Sendable () throws -> Value) {
        group.enter()
        Thread.detachNewThread { [self] in
            result = Result { try work() }
            group.leave()
        }
    }

    func wait() throws -> Value {
        group.wait()
        guard let result else { throw RegistryError.backgroundTaskLost }
        return try result.get()
    }
}
