import Foundation
import Tensors

/// A restricted unpickler for torch checkpoints' `data.pkl`: a pickle virtual machine that only
/// builds plain data and tensors (CPython `Lib/pickle.py` `_Unpickler` semantics, protocol ≤ 2).
///
/// Allow-list (everything else is refused with an error naming it; nothing is imported or called):
/// - opcodes: `PickleOpcode` (the data-only protocol-2 set `torch.save` emits);
/// - globals: `collections.OrderedDict`, `__builtin__.set`/`builtins.set`,
///   `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`, and the typed storage
///   classes `torch.{Double,Float,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage`;
/// - calls (`REDUCE`): `OrderedDict()`, `set(list)`, `_rebuild_tensor_v2(storage, offset, size,
///   stride, requires_grad, backward_hooks[, metadata])`, `_rebuild_parameter(tensor, requires_grad, hooks)`;
/// - `BUILD` only on dicts (the `_metadata` attribute of `state_dict()` OrderedDicts), state ignored;
/// - persistent ids `('storage', storage_type, key, location, numel)`, resolved through `loadStorage`.
struct TorchUnpickler {
    /// Deepest container nesting accepted (also stops self-containing containers).
    static let maximumDepth = 512

    let path: String
    /// Returns the storage for `key`, checked to hold `elementCount` elements of `dtype`.
    let loadStorage: (_ key: String, _ dtype: DType, _ elementCount: Int) throws -> TorchStorage

    /// Runs `pickle` and returns the value it builds.
    func unpickle(_ pickle: ByteBuffer) throws -> PickleValue {
        let node = try pickle.withUnsafeBytes { try run($0) }
        return try node.value(depth: 0, path: path)
    }

    // MARK: The machine

    private func run(_ code: UnsafeRawBufferPointer) throws -> PickleNode {
        var stack: [PickleNode] = []
        var marks: [Int] = []
        var memo: [Int: PickleNode] = [:]
        var pc = 0
        var opcodeOffset = 0

        func fail(_ reason: String) -> TorchCheckpointError {
            .malformedPickle(reason: reason, offset: opcodeOffset, path: path)
        }
        func read(_ n: Int) throws -> UnsafeRawBufferPointer {
            guard n >= 0, n <= code.count - pc else { throw fail("truncated pickle") }
            defer { pc += n }
            return UnsafeRawBufferPointer(rebasing: code[pc..<(pc + n)])
        }
        func readUInt(_ n: Int) throws -> UInt64 {
            let bytes = try read(n)
            return bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        func readLine() throws -> String {
            guard let end = code[pc...].firstIndex(of: 0x0A), end - pc < 1024 else { throw fail("unterminated GLOBAL") }
            let line = String(decoding: code[pc..<end], as: UTF8.self)
            pc = end + 1
            return line
        }
        func pop() throws -> PickleNode {
            guard let top = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw fail("stack underflow") }
            return top
        }
        func popMark() throws -> [PickleNode] {
            guard let mark = marks.popLast(), mark <= stack.count else { throw fail("no MARK on the stack") }
            defer { stack.removeSubrange(mark...) }
            return Array(stack[mark...])
        }
        func top() throws -> PickleNode {
            guard let last = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
            return last
        }
        func string(_ raw: UnsafeRawBufferPointer) throws -> String {
            guard let s = String(validating: raw, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
            return s
        }
        func integer(littleEndianTwosComplement raw: UnsafeRawBufferPointer) throws -> Int64 {
            guard raw.count <= 8 else {
                // Longer encodings still fit when the extra bytes only extend the sign.
                let significant = Array(raw.prefix(8)), rest = raw.dropFirst(8)
                let negative = (significant.last ?? 0) & 0x80 != 0
                guard rest.allSatisfy({ $0 == (negative ? 0xFF : 0) }) else {
                    throw TorchCheckpointError.integerTooLarge(offset: opcodeOffset, path: path)
                }
                return try significant.withUnsafeBytes { try integer(littleEndianTwosComplement: $0) }
            }
            guard let last = raw.last else { return 0 }
            var value = UInt64(0)
            for (i, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
            if last & 0x80 != 0 && raw.count < 8 { value |= ~UInt64(0) << (8 * UInt64(raw.count)) }
            return Int64(bitPattern: value)
        }

        while true {
            opcodeOffset = pc
            let byte = try read(1)[0]
            guard let op = PickleOpcode(rawValue: byte) else {
                throw TorchCheckpointError.forbiddenOpcode(byte, name: PickleOpcode.name(of: byte), offset: opcodeOffset, path: path)
            }
            switch op {
            case .proto:
                let version = Int(try read(1)[0])
                guard version <= 2 else { throw TorchCheckpointError.unsupportedProtocol(version, path: path) }
            case .stop:
                guard stack.count == 1, marks.isEmpty else { throw fail("STOP with \(stack.count) values on the stack") }
                return stack[0]
            case .mark: marks.append(stack.count)
            case .pop: _ = try pop()
            case .popMark: _ = try popMark()
            case .dup: stack.append(try top())
            case .binInt: stack.append(.value(.int(Int64(Int32(bitPattern: UInt32(try readUInt(4)))))))
            case .binInt1: stack.append(.value(.int(Int64(try readUInt(1)))))
            case .binInt2: stack.append(.value(.int(Int64(try readUInt(2)))))
            case .long1:
                let n = Int(try readUInt(1))
                stack.append(.value(.int(try integer(littleEndianTwosComplement: try read(n)))))
            case .long4:
                let n = Int(Int32(bitPattern: UInt32(try readUInt(4))))
                stack.append(.value(.int(try integer(littleEndianTwosComplement: try read(n)))))
            case .none: stack.append(.value(.none))
            case .newTrue: stack.append(.value(.bool(true)))
            case .newFalse: stack.append(.value(.bool(false)))
            case .binFloat:
                let bits = try read(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }  // big-endian
                stack.append(.value(.float(Double(bitPattern: bits))))
            case .binUnicode:
                stack.append(.value(.string(try string(try read(Int(try readUInt(4)))))))
            case .binString, .shortBinString:
                let raw = try read(Int(try readUInt(op == .binString ? 4 : 1)))
                // Python 2 `str`: torch.load decodes it as UTF-8; keep undecodable ones as bytes.
                if let s = String(validating: raw, as: UTF8.self) { stack.append(.value(.string(s))) } else {
                    stack.append(.value(.bytes(Array(raw))))
                }
            case .emptyList: stack.append(.list(PickleListBox()))
            case .append:
                let item = try pop()
                guard case .list(let list) = try top() else { throw fail("APPEND to a non-list") }
                list.items.append(item)
            case .appends:
                let items = try popMark()
                guard case .list(let list) = try top() else { throw fail("APPENDS to a non-list") }
                list.items += items
            case .emptyDict: stack.append(.dict(PickleDictBox(ordered: false)))
            case .setItem:
                let value = try pop(), key = try pop()
                guard case .dict(let dict) = try top() else { throw fail("SETITEM on a non-dict") }
                try dict.set(key, value, fail: fail)
            case .setItems:
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values") }
                guard case .dict(let dict) = try top() else { throw fail("SETITEMS on a non-dict") }
                for i in stride(from: 0, to: items.count, by: 2) { try dict.set(items[i], items[i + 1], fail: fail) }
            case .emptyTuple: stack.append(.tuple([]))
            case .tuple: stack.append(.tuple(try popMark()))
            case .tuple1, .tuple2, .tuple3:
                let n = Int(op.rawValue - PickleOpcode.tuple1.rawValue) + 1
                var items: [PickleNode] = []
                for _ in 0..<n { items.insert(try pop(), at: 0) }
                stack.append(.tuple(items))
            case .global:
                let module = try readLine(), name = try readLine()
                stack.append(.global(try resolve(module: module, name: name)))
            case .reduce:
                let arguments = try pop(), callable = try pop()
                guard case .global(let global) = callable, case .tuple(let args) = arguments else {
                    throw fail("REDUCE needs an allowed global and an argument tuple")
                }
                stack.append(try call(global, args, fail: fail))
            case .build:
                let state = try pop()
                guard case .dict = try top() else { throw fail("BUILD is only accepted on dicts (state_dict metadata)") }
                switch state {
                case .dict, .value(.none): break  // `_metadata` and similar attributes: not part of the value
                default: throw fail("BUILD state must be a dict")
                }
            case .binPersId:
                stack.append(try persistentLoad(try pop(), fail: fail))
            case .binGet, .longBinGet:
                let index = Int(try readUInt(op == .binGet ? 1 : 4))
                guard let value = memo[index] else { throw fail("memo \(index) is empty") }
                stack.append(value)
            case .binPut, .longBinPut:
                let index = Int(try readUInt(op == .binPut ? 1 : 4))
                memo[index] = try top()
            }
        }
    }

    // MARK: Globals and calls

    private func resolve(module: String, name: String) throws -> PickleGlobal {
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("collections", "OrderedDict"): return .orderedDict
        case ("__builtin__", "set"), ("builtins", "set"): return .set
        case ("torch", _):
            if let dtype = TorchStorage.classNames[name] { return .storageClass(dtype) }
        default: break
        }
        throw TorchCheckpointError.forbiddenGlobal(module: module, name: name, path: path)
    }

    private func call(_ global: PickleGlobal, _ args: [PickleNode], fail: (String) -> TorchCheckpointError) throws -> PickleNode {
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw fail("OrderedDict() with arguments") }
            return .dict(PickleDictBox(ordered: true))
        case .set:
            guard args.count == 1, case .list(let list) = args[0] else { throw fail("set() needs one list") }
            return .set(list.items)
        case .rebuildParameter:
            guard (2...3).contains(args.count), case .tensor = args[0] else { throw fail("_rebuild_parameter needs a tensor") }
            return args[0]
        case .rebuildTensorV2:
            guard (6...7).contains(args.count), case .storage(let storage) = args[0],
                  case .value(.int(let offset)) = args[1], case .tuple(let sizeNodes) = args[2],
                  case .tuple(let strideNodes) = args[3] else {
                throw fail("_rebuild_tensor_v2 needs (storage, offset, size, stride, requires_grad, hooks)")
            }
            func ints(_ nodes: [PickleNode]) throws -> [Int] {
                try nodes.map { node in
                    guard case .value(.int(let v)) = node, let i = Int(exactly: v) else { throw fail("tensor size or stride is not an integer") }
                    return i
                }
            }
            guard let start = Int(exactly: offset) else { throw fail("storage offset out of range") }
            return .tensor(try storage.view(offset: start, shape: try ints(sizeNodes), strides: try ints(strideNodes), path: path))
        case .storageClass:
            throw fail("storage classes cannot be called")
        }
    }

    /// `persistent_load(('storage', storage_type, key, location, numel))` as torch's loader reads it.
    private func persistentLoad(_ id: PickleNode, fail: (String) -> TorchCheckpointError) throws -> PickleNode {
        guard case .tuple(let fields) = id, fields.count == 5,
              case .value(.string("storage")) = fields[0],
              case .global(.storageClass(let dtype)) = fields[1],
              case .value(.string(let key)) = fields[2],
              case .value(.string) = fields[3],
              case .value(.int(let numel)) = fields[4], numel >= 0, let count = Int(exactly: numel) else {
            throw fail("persistent id is not ('storage', storage_type, key, location, numel)")
        }
        return .storage(try loadStorage(key, dtype, count))
    }
}

// MARK: Machine values

/// Callables the allow-list admits.
enum PickleGlobal {
    case rebuildTensorV2, rebuildParameter, orderedDict, set
    case storageClass(DType)
}

/// A value on the unpickler's stack. Lists and dicts are boxes because pickles fill them after
/// memoising them (`EMPTY_DICT`, `BINPUT`, then `SETITEMS`).
indirect enum PickleNode {
    case value(PickleValue)
    case tuple([PickleNode])
    case list(PickleListBox)
    case dict(PickleDictBox)
    case set([PickleNode])
    case tensor(RawTensor)
    case global(PickleGlobal)
    case storage(TorchStorage)

    /// The finished value; storages and globals cannot appear in a result.
    func value(depth: Int, path: String) throws -> PickleValue {
        guard depth < TorchUnpickler.maximumDepth else { throw TorchCheckpointError.nestingTooDeep(path: path) }
        switch self {
        case .value(let v): return v
        case .tensor(let t): return .tensor(t)
        case .tuple(let items): return .tuple(try items.map { try $0.value(depth: depth + 1, path: path) })
        case .set(let items): return .set(try items.map { try $0.value(depth: depth + 1, path: path) })
        case .list(let box): return .list(try box.items.map { try $0.value(depth: depth + 1, path: path) })
        case .dict(let box):
            return .dict(try box.entries.map {
                (key: try $0.key.value(depth: depth + 1, path: path), value: try $0.value.value(depth: depth + 1, path: path))
            }, ordered: box.ordered)
        case .global, .storage:
            throw TorchCheckpointError.malformedPickle(reason: "a bare global or storage is not a value", offset: 0, path: path)
        }
    }
}

final class PickleListBox {
    var items: [PickleNode] = []
}

final class PickleDictBox {
    let ordered: Bool
    var entries: [(key: PickleNode, value: PickleNode)] = []
    /// Positions of scalar keys, so that a repeated key replaces its value as in Python.
    private var positions: [PickleKey: Int] = [:]

    init(ordered: Bool) { self.ordered = ordered }

    func set(_ key: PickleNode, _ value: PickleNode, fail: (String) -> TorchCheckpointError) throws {
        let hashable: PickleKey
        switch key {
        case .value(.string(let s)): hashable = .string(s)
        case .value(.int(let i)): hashable = .int(i)
        case .value(.bool(let b)): hashable = .int(b ? 1 : 0)
        case .value(.none): hashable = .none
        case .value(.float(let f)): hashable = f == f.rounded() && abs(f) < 9e18 ? .int(Int64(f)) : .float(f)
        case .tuple: hashable = .position(entries.count)  // tuple keys: kept as given
        default: throw fail("unhashable dict key")
        }
        if let position = positions[hashable] {
            entries[position].value = value
        } else {
            positions[hashable] = entries.count
            entries.append((key, value))
        }
    }
}

private enum PickleKey: Hashable {
    case string(String), int(Int64), float(Double), none, position(Int)
}
