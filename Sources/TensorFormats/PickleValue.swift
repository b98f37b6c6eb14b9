import Tensors
/// The values an allow-listed torch checkpoint can hold after unpickling: plain Python data and
/// tensors. Nothing else can be represented, so nothing else can be produced by a file.
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    case set([PickleValue])
    /// `dict` and `collections.OrderedDict`, keys in insertion order.
    case dict([(key: PickleValue, value: PickleValue)], ordered: Bool)
    case tensor(RawTensor)

    /// Builds a dict with string keys (the shape of every state dict), in the given order.
    public static func stringDict(_ entries: [(String, PickleValue)], ordered: Bool = false) -> PickleValue {
        .dict(entries.map { (key: PickleValue.string($0.0), value: $0.1) }, ordered: ordered)
    }

    /// The value for string key `key` when this is a dict.
    public subscript(key: String) -> PickleValue? {
        guard case .dict(let entries, _) = self else { return nil }
        return entries.first { if case .string(key) = $0.key { true } else { false } }?.value
    }

    /// Every tensor reachable from this value, names joined with `.` along dict keys (string or
    /// integer) and list/tuple indices — what `convert` writes and `inspect` lists.
    public func flattenedTensors(prefix: String = "") -> [(name: String, tensor: RawTensor)] {
        func join(_ key: String) -> String { prefix.isEmpty ? key : prefix + "." + key }
        switch self {
        case .tensor(let t): return [(prefix, t)]
        case .dict(let entries, _):
            return entries.flatMap { entry -> [(name: String, tensor: RawTensor)] in
                let key: String
                switch entry.key {
                case .string(let s): key = s
                case .int(let i): key = String(i)
                default: return []
                }
                return entry.value.flattenedTensors(prefix: join(key))
            }
        case .list(let items), .tuple(let items):
            return items.enumerated().flatMap { $0.element.flattenedTensors(prefix: join(String($0.offset))) }
        default: return []
        }
    }
}
