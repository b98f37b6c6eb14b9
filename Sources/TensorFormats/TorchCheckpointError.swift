import Foundation

/// Why a torch checkpoint was refused or could not be written. Zip-level problems are
/// `ZipArchiveError`s; file-system problems are `MappedFile.Failure`s.
public enum TorchCheckpointError: Error, LocalizedError, Equatable, Sendable {
    /// The file does not start with a zip local header (`PK\u{3}\u{4}`).
    case notZip(path: String)
    /// A pre-1.6 `torch.save` file (`_use_new_zipfile_serialization=False`): a bare pickle stream.
    case legacyFormat(path: String)
    /// No `<prefix>/data.pkl` entry.
    case missingDataPickle(path: String)
    /// More than one `<prefix>/data.pkl` entry.
    case ambiguousArchive(prefixes: [String], path: String)
    /// The `byteorder` record names something other than `little`.
    case unsupportedByteOrder(String, path: String)
    /// The pickle names a global outside the allow-list (nothing is ever imported or called).
    case forbiddenGlobal(module: String, name: String, path: String)
    /// An opcode outside the allow-list, with its pickletools name and its offset in `data.pkl`.
    case forbiddenOpcode(UInt8, name: String, offset: Int, path: String)
    /// `PROTO n` with n > 2.
    case unsupportedProtocol(Int, path: String)
    /// The pickle stream is inconsistent (stack underflow, wrong argument types, truncation…).
    case malformedPickle(reason: String, offset: Int, path: String)
    /// Containers nested deeper than the reader allows (or a container that contains itself).
    case nestingTooDeep(path: String)
    /// An integer that does not fit in 64 bits.
    case integerTooLarge(offset: Int, path: String)
    /// The storage `data/<key>` is not in the archive.
    case missingStorage(key: String, path: String)
    /// The storage entry holds fewer bytes than its element count needs.
    case storageTooSmall(key: String, expectedBytes: Int, actualBytes: Int, path: String)
    /// A tensor view (offset, shape, strides) reaches outside its storage.
    case viewOutOfBounds(key: String, offset: Int, shape: [Int], strides: [Int], storageElements: Int, path: String)
    /// Two tensors flatten to the same dotted name.
    case duplicateTensorName(String, path: String)
    /// The writer cannot represent this value in a checkpoint `torch.load(weights_only=True)` reads.
    case unsupportedValue(String, path: String)
    /// Writing failed.
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .notZip(let path):
            "\(path) is not a torch zip checkpoint (no zip signature)"
        case .legacyFormat(let path):
            "\(path) is a legacy (pre-1.6, non-zip) torch.save file, which is not supported; re-save it with a current torch"
        case .missingDataPickle(let path):
            "\(path): zip archive has no <archive>/data.pkl entry, so it is not a torch checkpoint"
        case .ambiguousArchive(let prefixes, let path):
            "\(path): zip archive holds several torch archives (\(prefixes.joined(separator: ", ")))"
        case .unsupportedByteOrder(let order, let path):
            "\(path): byte order \(order) is not supported (only little-endian)"
        case .forbiddenGlobal(let module, let name, let path):
            "\(path): refusing pickle global \(module).\(name) (not on the allow-list of tensor and container types)"
        case .forbiddenOpcode(let code, let name, let offset, let path):
            "\(path): refusing pickle opcode \(name) (0x\(String(code, radix: 16, uppercase: true))) at offset \(offset) of data.pkl"
        case .unsupportedProtocol(let version, let path):
            "\(path): pickle protocol \(version) is not supported (torch.save writes protocol 2)"
        case .malformedPickle(let reason, let offset, let path):
            "\(path): malformed pickle at offset \(offset) of data.pkl: \(reason)"
        case .nestingTooDeep(let path):
            "\(path): containers are nested too deeply (or contain themselves)"
        case .integerTooLarge(let offset, let path):
            "\(path): integer at offset \(offset) of data.pkl does not fit in 64 bits"
        case .missingStorage(let key, let path):
            "\(path): tensor storage data/\(key) is missing"
        case .storageTooSmall(let key, let expected, let actual, let path):
            "\(path): tensor storage data/\(key) holds \(actual) bytes, but \(expected) are needed"
        case .viewOutOfBounds(let key, let offset, let shape, let strides, let elements, let path):
            "\(path): tensor view (offset \(offset), shape \(shape), strides \(strides)) reaches outside storage data/\(key) of \(elements) elements"
        case .duplicateTensorName(let name, let path):
            "\(path): two tensors are both named \(name) once nested keys are joined with '.'"
        case .unsupportedValue(let what, let path):
            "cannot write \(path): \(what) cannot be stored in a torch checkpoint"
        case .writeFailed(let path, let reason):
            "cannot write \(path): \(reason)"
        }
    }
}
