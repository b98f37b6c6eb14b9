import Foundation
import TestSupport
import Testing
@testable import TensorFormats

/// The files of `fixtures/torch/…` (written by fixtures/generate_torch.py).
enum TorchFixtures {
    static let root = fixtureURL("torch")

    static func good(_ name: String) -> String { root.appendingPathComponent("good/\(name)").path }
    static func bad(_ name: String) -> String { root.appendingPathComponent("bad/\(name)").path }

    /// The checkpoints written by `torch.save` in fixtures/generate_torch.py, each with a golden JSON tree.
    static let goodFiles = [
        "nested.pt", "views.bin", "dtypes.pt", "linear_state_dict.bin", "sequential_state_dict.ckpt",
        "custom_diffusion_embedding.bin", "custom_diffusion_delta.bin", "diffusers_attn_procs.bin",
        "parameter.pt", "scalars.pt", "through_buffer.pt",
    ]

    static func goldenStem(_ file: String) -> String {
        String(file[..<(file.lastIndex(of: ".") ?? file.endIndex)])
    }

    /// The JSON tree fixtures/generate_torch.py wrote for `file` (`tree()` there describes the encoding).
    static func goldenTree(_ file: String) throws -> Any {
        let data = try Data(contentsOf: URL(fileURLWithPath: good(goldenStem(file) + ".golden.json")))
        return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("torch-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Compares a read value with a golden JSON tree, recording one issue per difference (bit-exact tensors).
func expectMatchesGolden(_ value: PickleValue, _ golden: Any, at location: String = "$",
                         sourceLocation: SourceLocation = #_sourceLocation) {
    guard let node = golden as? [String: Any], let kind = node.keys.first(where: { $0 != "ordered" && $0 != "dtype" && $0 != "shape" && $0 != "bytes" }) else {
        Issue.record("bad golden node at \(location)", sourceLocation: sourceLocation)
        return
    }
    func mismatch(_ what: String) {
        Issue.record("\(location): expected \(kind) \(what), got \(value)", sourceLocation: sourceLocation)
    }
    switch (kind, value) {
    case ("none", .none): break
    case ("bool", .bool(let b)): if b != (node["bool"] as? Bool) { mismatch("value") }
    case ("int", .int(let i)): if i != (node["int"] as? NSNumber)?.int64Value { mismatch("value \(node["int"] ?? "")") }
    case ("float", .float(let f)):
        if let text = node["float"] as? String, let expected = Double(text) {
            if f.bitPattern != expected.bitPattern { mismatch(text) }
        } else { mismatch("parsable") }
    case ("string", .string(let s)): if s != node["string"] as? String { mismatch("\(node["string"] ?? "")") }
    case ("list", .list(let items)), ("tuple", .tuple(let items)), ("set", .set(let items)):
        let expected = node[kind] as? [Any] ?? []
        guard items.count == expected.count else { return mismatch("of \(expected.count) items") }
        for (i, pair) in zip(items, expected).enumerated() {
            expectMatchesGolden(pair.0, pair.1, at: "\(location)[\(i)]", sourceLocation: sourceLocation)
        }
    case ("dict", .dict(let entries, let ordered)):
        let expected = node["dict"] as? [[Any]] ?? []
        if ordered != (node["ordered"] as? Bool) { mismatch("ordered=\(node["ordered"] ?? "")") }
        guard entries.count == expected.count else { return mismatch("of \(expected.count) entries") }
        for (i, (entry, pair)) in zip(entries, expected).enumerated() where pair.count == 2 {
            expectMatchesGolden(entry.key, pair[0], at: "\(location).key\(i)", sourceLocation: sourceLocation)
            expectMatchesGolden(entry.value, pair[1], at: "\(location).\(entry.key)", sourceLocation: sourceLocation)
        }
    case ("tensor", .tensor(let t)):
        let expectedBytes = (node["bytes"] as? String).flatMap { Data(base64Encoded: $0) }
        let expectedShape = (node["shape"] as? [NSNumber])?.map(\.intValue)
        if t.dtype.rawValue != node["dtype"] as? String { mismatch("dtype \(node["dtype"] ?? "")") }
        if t.shape != expectedShape { mismatch("shape \(expectedShape ?? [])") }
        if t.bytes.data != expectedBytes { mismatch("bytes (bit-exact)") }
    default:
        mismatch("")
    }
}

/// Structural equality of two values (tensors: dtype, shape and bytes; floats bit-exact).
func sameValue(_ a: PickleValue, _ b: PickleValue) -> Bool {
    switch (a, b) {
    case (.none, .none): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.int(let x), .int(let y)): return x == y
    case (.float(let x), .float(let y)): return x.bitPattern == y.bitPattern
    case (.string(let x), .string(let y)): return x == y
    case (.bytes(let x), .bytes(let y)): return x == y
    case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)), (.set(let x), .set(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { sameValue($0, $1) }
    case (.dict(let x, let ox), .dict(let y, let oy)):
        return ox == oy && x.count == y.count && zip(x, y).allSatisfy { sameValue($0.key, $1.key) && sameValue($0.value, $1.value) }
    case (.tensor(let x), .tensor(let y)):
        return x.dtype == y.dtype && x.shape == y.shape && x.bytes.data == y.bytes.data
    default: return false
    }
}
