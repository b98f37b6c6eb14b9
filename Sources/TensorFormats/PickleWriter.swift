import Tensors
/// Serialises a `PickleValue` as the protocol-2 pickle `torch.save` writes (CPython
/// `Lib/pickle.py` opcodes), with every tensor as a persistent id
/// `('storage', torch.<T>Storage, key, 'cpu', numel)` rebuilt by
/// `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())` — only
/// globals that `torch.load(weights_only=True)` accepts.
struct PickleWriter {
    private(set) var bytes: [UInt8] = [PickleOpcode.proto.rawValue, 2]
    /// Tensors in key order: storage `key` is `String(index)`.
    private(set) var storages: [RawTensor] = []
    let path: String

    init(path: String) { self.path = path }

    /// The complete pickle of `value` (ending in `STOP`) and its storages.
    static func pickle(_ value: PickleValue, path: String) throws -> (pickle: [UInt8], storages: [RawTensor]) {
        var writer = PickleWriter(path: path)
        try writer.write(value, depth: 0)
        writer.op(.stop)
        return (writer.bytes, writer.storages)
    }

    private mutating func op(_ code: PickleOpcode) { bytes.append(code.rawValue) }

    private mutating func write(_ value: PickleValue, depth: Int) throws {
        guard depth < TorchUnpickler.maximumDepth else { throw TorchCheckpointError.nestingTooDeep(path: path) }
        switch value {
        case .none: op(.none)
        case .bool(let b): op(b ? .newTrue : .newFalse)
        case .int(let i): writeInt(i)
        case .float(let f):
            op(.binFloat)
            bytes += withUnsafeBytes(of: f.bitPattern.bigEndian) { Array($0) }
        case .string(let s): writeString(s)
        case .bytes:
            throw TorchCheckpointError.unsupportedValue("a bytes value", path: path)
        case .list(let items):
            op(.emptyList)
            if !items.isEmpty {
                op(.mark)
                for item in items { try write(item, depth: depth + 1) }
                op(.appends)
            }
        case .tuple(let items):
            try writeTuple(items, depth: depth)
        case .set(let items):
            writeGlobal("__builtin__", "set")
            op(.emptyList)
            if !items.isEmpty {
                op(.mark)
                for item in items { try write(item, depth: depth + 1) }
                op(.appends)
            }
            op(.tuple1)
            op(.reduce)
        case .dict(let entries, let ordered):
            if ordered {
                writeGlobal("collections", "OrderedDict")
                op(.emptyTuple)
                op(.reduce)
            } else {
                op(.emptyDict)
            }
            if !entries.isEmpty {
                op(.mark)
                for entry in entries {
                    try write(entry.key, depth: depth + 1)
                    try write(entry.value, depth: depth + 1)
                }
                op(.setItems)
            }
        case .tensor(let tensor):
            writeTensor(tensor)
        }
    }

    private mutating func writeTensor(_ tensor: RawTensor) {
        let key = String(storages.count)
        storages.append(tensor)
        writeGlobal("torch._utils", "_rebuild_tensor_v2")
        op(.mark)
        // Persistent id ('storage', torch.<T>Storage, key, 'cpu', numel).
        op(.mark)
        writeString("storage")
        writeGlobal("torch", Self.storageClass[tensor.dtype] ?? "FloatStorage")
        writeString(key)
        writeString("cpu")
        writeInt(Int64(tensor.elementCount))
        op(.tuple)
        op(.binPersId)
        writeInt(0)  // storage offset
        writeInts(tensor.shape)
        var strides = [Int](repeating: 1, count: tensor.shape.count)
        for d in stride(from: tensor.shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * tensor.shape[d + 1] }
        writeInts(strides)
        op(.newFalse)  // requires_grad
        writeGlobal("collections", "OrderedDict")  // backward_hooks
        op(.emptyTuple)
        op(.reduce)
        op(.tuple)
        op(.reduce)
    }

    private static let storageClass: [DType: String] = Dictionary(
        uniqueKeysWithValues: TorchStorage.classNames.map { ($0.value, $0.key) })

    private mutating func writeTuple(_ items: [PickleValue], depth: Int) throws {
        switch items.count {
        case 0: op(.emptyTuple)
        case 1...3:
            for item in items { try write(item, depth: depth + 1) }
            bytes.append(PickleOpcode.tuple1.rawValue + UInt8(items.count - 1))
        default:
            op(.mark)
            for item in items { try write(item, depth: depth + 1) }
            op(.tuple)
        }
    }

    private mutating func writeInts(_ values: [Int]) {
        switch values.count {
        case 0: op(.emptyTuple)
        case 1...3:
            for v in values { writeInt(Int64(v)) }
            bytes.append(PickleOpcode.tuple1.rawValue + UInt8(values.count - 1))
        default:
            op(.mark)
            for v in values { writeInt(Int64(v)) }
            op(.tuple)
        }
    }

    /// BININT1 / BININT2 / BININT / LONG1 (minimal little-endian two's complement), as pickle chooses.
    private mutating func writeInt(_ value: Int64) {
        if (0...0xFF).contains(value) {
            op(.binInt1)
            bytes.append(UInt8(value))
        } else if (0...0xFFFF).contains(value) {
            op(.binInt2)
            bytes += [UInt8(value & 0xFF), UInt8(value >> 8)]
        } else if let v = Int32(exactly: value) {
            op(.binInt)
            bytes += withUnsafeBytes(of: v.littleEndian) { Array($0) }
        } else {
            var encoded = withUnsafeBytes(of: value.littleEndian) { Array($0) }
            // Drop sign-extension bytes while the next byte's top bit still carries the sign.
            while encoded.count > 1 {
                let last = encoded[encoded.count - 1], previous = encoded[encoded.count - 2]
                if (last == 0 && previous & 0x80 == 0) || (last == 0xFF && previous & 0x80 != 0) {
                    encoded.removeLast()
                } else { break }
            }
            op(.long1)
            bytes.append(UInt8(encoded.count))
            bytes += encoded
        }
    }

    private mutating func writeString(_ s: String) {
        let utf8 = Array(s.utf8)
        op(.binUnicode)
        bytes += withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { Array($0) }
        bytes += utf8
    }

    private mutating func writeGlobal(_ module: String, _ name: String) {
        op(.global)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }
}
