import Foundation
import Tensors

/// Why a safetensors file, a sharded index or a write was refused. Every case names the file
/// (`path`: the path given, or the `source` name of an in-memory file) and, where one is involved,
/// the tensor.
///
/// The checks follow the safetensors format (huggingface/safetensors `README.md`, "Format") and
/// the Rust reader's validation (`SafeTensors::deserialize`/`Metadata::validate`), and are stricter
/// where the format leaves room: unknown dtypes, extra entry keys and duplicate names are refused.
public enum SafetensorsError: Error, LocalizedError, Equatable {
    /// The file (or a shard) could not be opened, stat-ed or memory-mapped.
    case cannotRead(path: String, reason: String)
    /// Writing, syncing or renaming the output failed.
    case cannotWrite(path: String, reason: String)
    /// Fewer than the 8 bytes of the header length.
    case fileTooSmall(path: String, size: Int)
    /// The little-endian u64 header length exceeds the 100 MB limit (the Rust crate's `MAX_HEADER_SIZE`).
    case headerTooLarge(path: String, length: UInt64)
    /// `8 + header length` runs past the end of the file.
    case headerOutOfBounds(path: String, length: UInt64, fileSize: Int)
    /// The header bytes are not UTF-8.
    case headerNotUTF8(path: String)
    /// The header is not one well-formed JSON text (RFC 8259), optionally followed by padding spaces.
    case invalidJSON(path: String, reason: String)
    /// The header is JSON, but not an object.
    case headerNotObject(path: String)
    /// `__metadata__` is not an object of string values (or appears twice).
    case invalidMetadata(path: String, reason: String)
    /// A tensor name appears twice (in a header, across shards, in a weight map, or in tensors to write).
    case duplicateName(path: String, name: String)
    /// A header entry is not exactly `{"dtype": string, "shape": [int ≥ 0…], "data_offsets": [int ≥ 0, int ≥ 0]}`.
    case invalidEntry(path: String, tensor: String, reason: String)
    /// A dtype outside `F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL`.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// `numel × dtype size` overflows a 64-bit integer.
    case shapeTooLarge(path: String, tensor: String, shape: [Int])
    /// `data_offsets` ends before it begins.
    case invalidDataOffsets(path: String, tensor: String, start: Int, end: Int)
    /// Sorted by offset, tensors must tile the data buffer from 0 without gaps or overlaps:
    /// this tensor starts at `found` where the previous one ended at `expected`.
    case offsetsNotContiguous(path: String, tensor: String, expected: Int, found: Int)
    /// `end − start` differs from `numel × dtype size`.
    case byteLengthMismatch(path: String, tensor: String, expected: Int, actual: Int)
    /// The tensor ends past the data buffer (`available` bytes after the header): the file is truncated.
    case dataOutOfBounds(path: String, tensor: String, end: Int, available: Int)
    /// Tensors cover only `covered` of the `available` data bytes (trailing bytes after the last tensor).
    case bufferNotCovered(path: String, covered: Int, available: Int)
    /// A sharded index is not JSON or lacks a `weight_map` object of file names.
    case invalidIndex(path: String, reason: String)
    /// A weight map names a shard that is not a plain file name in the index's directory.
    case invalidShardName(path: String, shard: String)
    /// A weight map entry whose shard (`path`) does not hold the tensor.
    case missingTensorInShard(path: String, tensor: String)
    /// A shard (`path`) holds a tensor that the weight map does not assign to it.
    case tensorNotInIndex(path: String, tensor: String)
    /// A tensor name that cannot be written (`__metadata__` is reserved).
    case invalidTensorName(path: String, name: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .cannotRead(let path, let reason):
            "cannot read \(path): \(reason)"
        case .cannotWrite(let path, let reason):
            "cannot write \(path): \(reason)"
        case .fileTooSmall(let path, let size):
            "\(path) is not a safetensors file: \(size) bytes, too short for the 8-byte header length"
        case .headerTooLarge(let path, let length):
            "\(path) is not a safetensors file (or is corrupt): header length \(length) exceeds the 100 MB limit"
        case .headerOutOfBounds(let path, let length, let fileSize):
            "\(path) is truncated or corrupt: header length \(length) runs past the end of the \(fileSize)-byte file"
        case .headerNotUTF8(let path):
            "\(path) is corrupt: the safetensors header is not UTF-8 text"
        case .invalidJSON(let path, let reason):
            "\(path) is corrupt: the safetensors header is not valid JSON (\(reason))"
        case .headerNotObject(let path):
            "\(path) is corrupt: the safetensors header must be a JSON object"
        case .invalidMetadata(let path, let reason):
            "\(path): invalid __metadata__: \(reason)"
        case .duplicateName(let path, let name):
            "\(path): tensor name \"\(name)\" appears more than once"
        case .invalidEntry(let path, let tensor, let reason):
            "\(path): invalid header entry for tensor \"\(tensor)\": \(reason)"
        case .unknownDType(let path, let tensor, let dtype):
            "\(path): tensor \"\(tensor)\" has dtype \(dtype), which is not supported "
                + "(supported: \(DType.allCases.map(\.safetensorsName).joined(separator: " ")))"
        case .shapeTooLarge(let path, let tensor, let shape):
            "\(path): tensor \"\(tensor)\" has shape \(shape), whose byte size overflows"
        case .invalidDataOffsets(let path, let tensor, let start, let end):
            "\(path): tensor \"\(tensor)\" has data_offsets [\(start), \(end)], which end before they start"
        case .offsetsNotContiguous(let path, let tensor, let expected, let found):
            "\(path): tensor \"\(tensor)\" starts at data offset \(found), expected \(expected) "
                + "(tensors must follow each other without gaps or overlaps, from offset 0)"
        case .byteLengthMismatch(let path, let tensor, let expected, let actual):
            "\(path): tensor \"\(tensor)\" spans \(actual) bytes but its shape and dtype need \(expected)"
        case .dataOutOfBounds(let path, let tensor, let end, let available):
            "\(path) is truncated: tensor \"\(tensor)\" ends at data offset \(end) but only \(available) data bytes follow the header"
        case .bufferNotCovered(let path, let covered, let available):
            "\(path) is corrupt: tensors cover \(covered) of the \(available) data bytes after the header"
        case .invalidIndex(let path, let reason):
            "\(path) is not a valid sharded safetensors index: \(reason)"
        case .invalidShardName(let path, let shard):
            "\(path): shard \"\(shard)\" is not a plain file name next to the index"
        case .missingTensorInShard(let path, let tensor):
            "\(path) does not hold tensor \"\(tensor)\", which the index's weight_map assigns to it"
        case .tensorNotInIndex(let path, let tensor):
            "\(path) holds tensor \"\(tensor)\", which the index's weight_map does not assign to it"
        case .invalidTensorName(let path, let name, let reason):
            "\(path): cannot write tensor \"\(name)\": \(reason)"
        }
    }
}
