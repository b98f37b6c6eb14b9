import Foundation
import TestSupport
import TextEncoder

/// The files of `fixtures/clip/`.
enum Fixtures {
    static let clip: URL = fixtureURL("clip")

    static func url(_ name: String) -> URL { clip.appendingPathComponent(name) }

    static func json(_ name: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(name)))
    }

    /// The real CLIP tokenizer, built from the committed merges (built once, shared by the tests).
    static let realTokenizer: Result<CLIPTokenizer, Error> = Result { try CLIPTokenizer(bpeMerges: url("merges.txt")) }

    /// A temporary directory removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// FNV-1a 64-bit hash (the generator's `fnv1a64`).
func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes {
        hash ^= UInt64(b)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}
