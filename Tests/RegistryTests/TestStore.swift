import Foundation
@testable import Registry

/// A store in a fresh temporary directory, removed when the value is deinitialised.
final class TestStore {
    let root: URL
    let store: Store

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-test-\(UUID().uuidString)")
        store = try Store(root: root, create: true, blobs: TestBlobs.make())
    }

    deinit { try? FileManager.default.removeItem(at: root) }
}
