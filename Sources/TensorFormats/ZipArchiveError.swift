import Foundation

/// Why a zip archive (the container of torch checkpoints) could not be read.
public enum ZipArchiveError: Error, LocalizedError, Equatable, Sendable {
    /// No end-of-central-directory record: the file is truncated or not a zip archive.
    case missingEndOfCentralDirectory(path: String)
    /// A structure (`what`) lies outside the file: the file is truncated or corrupt.
    case outOfBounds(what: String, path: String)
    /// A record is malformed (`reason` says how).
    case corrupt(reason: String, path: String)
    /// The entry is compressed (`method` per APPNOTE §4.4.5; 8 = deflate); torch never compresses.
    case compressedEntry(name: String, method: UInt16, path: String)
    /// The entry is encrypted.
    case encryptedEntry(name: String, path: String)
    /// Multi-disk (spanned) archives are not supported.
    case multiDisk(path: String)
    /// The archive has no entry called `name`.
    case missingEntry(name: String, path: String)

    public var errorDescription: String? {
        switch self {
        case .missingEndOfCentralDirectory(let path):
            "\(path) is not a complete zip archive (no end-of-central-directory record; truncated?)"
        case .outOfBounds(let what, let path):
            "\(path): the zip \(what) lies outside the file (truncated or corrupt)"
        case .corrupt(let reason, let path):
            "\(path): corrupt zip archive: \(reason)"
        case .compressedEntry(let name, let method, let path):
            "\(path): zip entry \(name) is compressed (method \(method)); only stored entries are supported, as torch.save writes them"
        case .encryptedEntry(let name, let path):
            "\(path): zip entry \(name) is encrypted"
        case .multiDisk(let path):
            "\(path): multi-disk zip archives are not supported"
        case .missingEntry(let name, let path):
            "\(path): zip archive has no entry \(name)"
        }
    }
}
