import Foundation

/// Everything caption import, search, encoders and regularization sets refuse, with the context a
/// user needs to act (file, line, row, set, encoder).
public enum CaptionError: Error, LocalizedError, Equatable {
    case io(path: String, reason: String)
    case unsupportedCaptionFile(path: String)
    case malformedCaptionFile(path: String, line: Int, reason: String)
    case missingCaptionColumn(path: String, columns: [String])
    case emptyCaptionFile(path: String)
    case invalidNumpy(path: String, reason: String)
    case embeddingCountMismatch(path: String, rows: Int, captions: Int)
    case embeddingDimensionMismatch(path: String, dimension: Int, expected: Int, reason: String)
    case nonFiniteEmbedding(path: String, row: Int)
    case zeroEmbedding(path: String, row: Int)
    case unknownSet(String)
    case unknownEncoder(String)
    case encoderExists(String)
    case invalidEncoder(path: String, reason: String)
    /// No registered encoder fits (of this projection width, when given).
    case noEncoder(projectionDim: Int?)
    /// Several registered encoders fit; one must be named.
    case ambiguousEncoder([String])
    /// A text encoder that exists but cannot embed (which, why).
    case encoderUnusable(name: String, reason: String)
    case unknownRegset(String)
    case regsetExists(String)
    case emptyRegset(String)
    case invalidArgument(String)
    case scanIndex(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .io(let path, let reason): "\(path): \(reason)"
        case .unsupportedCaptionFile(let path): "\(path): unsupported caption file (use .txt, .jsonl, .csv or .tsv)"
        case .malformedCaptionFile(let path, let line, let reason): "\(path):\(line): \(reason)"
        case .missingCaptionColumn(let path, let columns):
            "\(path): no 'caption' column (columns: \(columns.isEmpty ? "none" : columns.joined(separator: ", ")))"
        case .emptyCaptionFile(let path): "\(path): no captions"
        case .invalidNumpy(let path, let reason): "\(path): not a usable NumPy embedding file: \(reason)"
        case .embeddingCountMismatch(let path, let rows, let captions):
            "\(path): \(rows) embedding rows for \(captions) captions (one row per caption, in order)"
        case .embeddingDimensionMismatch(let path, let dimension, let expected, let reason):
            "\(path): embeddings have dimension \(dimension), expected \(expected) (\(reason))"
        case .nonFiniteEmbedding(let path, let row): "\(path): embedding row \(row) has a non-finite value"
        case .zeroEmbedding(let path, let row): "\(path): embedding row \(row) has zero norm"
        case .unknownSet(let name): "unknown caption set '\(name)'"
        case .unknownEncoder(let name): "unknown encoder '\(name)'"
        case .encoderExists(let name): "an encoder named '\(name)' already exists"
        case .invalidEncoder(let path, let reason): "\(path): not a usable CLIP text model with projection: \(reason)"
        case .noEncoder(let width): "no text encoder to use: none registered\(width.map { " with projection size \($0)" } ?? "")"
        case .encoderUnusable(let name, let reason): "no text encoder to use: \(name): \(reason)"
        case .ambiguousEncoder(let names): "no text encoder to use: several are registered (\(names.joined(separator: ", "))): name one"
        case .unknownRegset(let name): "unknown regularization set '\(name)' (see `concepts regset list`)"
        case .regsetExists(let name): "a regularization set named '\(name)' already exists"
        case .emptyRegset(let reason): "the regularization set would be empty: \(reason)"
        case .invalidArgument(let reason): reason
        case .scanIndex(let path, let reason): "caption scan index \(path): \(reason) (delete it; it is rebuilt on the next search)"
        }
    }
}
