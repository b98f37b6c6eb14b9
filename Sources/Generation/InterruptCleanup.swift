import Dispatch
import Foundation

/// Removes registered temporary files when the process gets SIGINT or SIGTERM, then exits with 128 + signal
/// (130 for SIGINT), so an interrupted `generate` leaves no partial PNG. ``install()`` is called once by the CLI.
public final class InterruptCleanup: @unchecked Sendable {
    // @unchecked: all state is behind `lock`.
    public static let shared = InterruptCleanup()
    private let lock = NSLock()
    private var paths: Set<String> = []
    private var sources: [DispatchSourceSignal] = []

    public func register(_ url: URL) { lock.withLock { _ = paths.insert(url.path) } }
    public func unregister(_ url: URL) { lock.withLock { _ = paths.remove(url.path) } }

    /// Takes over SIGINT and SIGTERM (dispatch sources on a background queue: the sampling loop keeps the
    /// main thread busy).
    public func install() {
        lock.withLock {
            guard sources.isEmpty else { return }
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { [weak self] in self?.interrupted(signalNumber) }
                source.resume()
                sources.append(source)
            }
        }
    }

    private func interrupted(_ signalNumber: Int32) {
        let pending = lock.withLock { paths }
        for path in pending { unlink(path) }
        FileHandle.standardError.write(Data("\ninterrupted: the image in progress was not written\n".utf8))
        _exit(128 + signalNumber)  // not exit(): the main thread is still sampling; skip atexit handlers
    }
}
