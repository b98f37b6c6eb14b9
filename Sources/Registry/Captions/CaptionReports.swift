import Foundation

/// `captions import` result (CLI.md: `{set, imported, skipped_duplicates}`).
public struct CaptionImportResult: Codable, Sendable, Equatable {
    public let set: String
    public let imported: Int
    public let skippedDuplicates: Int
    enum CodingKeys: String, CodingKey {
        case set, imported
        case skippedDuplicates = "skipped_duplicates"
    }
}

/// One search hit: a caption and its cosine similarity to the query.
public struct CaptionMatch: Codable, Sendable, Equatable {
    public let id: Int64
    public let caption: String
    public let similarity: Double
    public let url: String
    public let path: String
}

/// `captions search` result (CLI.md: `{results: [{id, caption, similarity, url, path}], encode_ms, search_ms}`).
public struct CaptionSearchResult: Codable, Sendable {
    public let results: [CaptionMatch]
    public let encodeMS: Double
    public let searchMS: Double
    enum CodingKeys: String, CodingKey {
        case results
        case encodeMS = "encode_ms"
        case searchMS = "search_ms"
    }
}

/// A caption set as `captions sets` reports it.
public struct CaptionSetInfo: Codable, Sendable, Equatable {
    public let name: String
    public let captions: Int
    public let dimension: Int
    public let encoder: String?
    public let createdAt: String
    enum CodingKeys: String, CodingKey {
        case name, captions, dimension, encoder
        case createdAt = "created_at"
    }
}

/// A registered caption encoder (CLI.md: `encoder add` → `{name, hidden_size, projection_dim}`).
public struct CaptionEncoderInfo: Codable, Sendable, Equatable {
    public let name: String
    public let hiddenSize: Int
    public let projectionDim: Int
    enum CodingKeys: String, CodingKey {
        case name
        case hiddenSize = "hidden_size"
        case projectionDim = "projection_dim"
    }
}

/// `regset create` result (CLI.md: `{name, captions, feature_rows}`).
public struct RegsetCreateResult: Codable, Sendable, Equatable {
    public let name: String
    public let captions: Int
    public let featureRows: Int
    enum CodingKeys: String, CodingKey {
        case name, captions
        case featureRows = "feature_rows"
    }
}

/// A regularization set as `regset list` / `regset show` report it.
public struct RegsetInfo: Codable, Sendable, Equatable {
    public struct Gram: Codable, Sendable, Equatable {
        public let base: String
        public let dimension: Int
        public let featureRows: Int
        enum CodingKeys: String, CodingKey {
            case base, dimension
            case featureRows = "feature_rows"
        }
    }
    public struct Caption: Codable, Sendable, Equatable {
        public let caption: String
        public let url: String
        public let path: String
        public let similarity: Double?
    }

    public let name: String
    public let source: String
    public let captions: Int
    public let createdAt: String
    /// Σ stored per base.
    public let grams: [Gram]
    /// The captions (only in `regset show`).
    public let items: [Caption]?
    enum CodingKeys: String, CodingKey {
        case name, source, captions, grams
        case items = "caption_list"
        case createdAt = "created_at"
    }
}

/// Catalog timestamps (ISO 8601, UTC), as the rest of the catalog writes them.
enum CaptionClock {
    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
}
