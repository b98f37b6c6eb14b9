import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An advisory `flock` on `<store>/gc.lock` that keeps `gc` from deleting blobs a writer has
/// stored but not yet referenced: writers (`register`, `base add`, …) hold it shared from their
/// first blob until their catalog transaction commits; `gc` holds it exclusively. The kernel drops
/// the lock when a process dies, so a killed writer never blocks anyone.
public final class StoreLock {
    private let fd: Int32

    public enum Mode { case shared, exclusive }

    public init(store root: URL, mode: Mode) throws {
        let path = root.appendingPathComponent("gc.lock").path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RegistryError.io(path: path, reason: String(cString: strerror(errno))) }
        while flock(fd, mode == .shared ? LOCK_SH : LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RegistryError.io(path: path, reason: "flock: \(reason)")
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
