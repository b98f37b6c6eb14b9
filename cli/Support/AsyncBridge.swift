import Dispatch
import Foundation

/// The result slot of `runAsync`. `@unchecked Sendable`: written once by the task, read only after
/// the semaphore says the task is done.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// Runs async work from a synchronous `ParsableCommand.run()` (the root command's `main` is
/// synchronous) and returns its result or rethrows its error.
func runAsync<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    guard let result = box.result else { throw CLIFailure(message: "internal: async work ended without a result") }
    return try result.get()
}
