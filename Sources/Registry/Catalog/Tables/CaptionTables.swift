import Foundation

/// Rows of the caption and regularization-set tables (schema/migrations/0002_captions.sql).

/// `caption_encoder`: a CLIP text model with projection used to embed captions and queries.
struct CaptionEncoderRecord: Codable, Sendable {
    var id: Int64?
    var name: String
    var sourcePath: String
    var hiddenSize: Int
    var projectionDim: Int
    var createdAt: String
}

/// `caption_encoder_file`.
struct CaptionEncoderFileRecord: Codable, Sendable {
    var encoderID: Int64
    var path: String
    var blob: String
}

/// `caption_set`; `revision` is bumped by every import (it names the set's scan index).
struct CaptionSetRecord: Codable, Sendable {
    var id: Int64?
    var name: String
    var dimension: Int
    var encoder: String?
    var revision: Int64?
    var createdAt: String
}

/// `caption`: one caption and its L2-normalised fp16 embedding.
struct StoredCaptionRecord: Codable, Sendable {
    var id: Int64?
    var setID: Int64
    var caption: String
    var url: String
    var path: String
    var embedding: Data?
}

/// `regset`.
struct RegsetRecord: Codable, Sendable {
    var id: Int64?
    var name: String
    var source: String
    var createdAt: String
}

/// `regset_caption`.
struct RegsetCaptionRecord: Codable, Sendable {
    var regsetID: Int64
    var position: Int
    var caption: String
    var url: String
    var path: String
    var similarity: Double?
}

/// `regset_gram`: Σ = Cregᵀ Creg (d × d Float64, little-endian) of a regset for one base.
struct RegsetGramRecord: Codable, Sendable {
    var regsetID: Int64
    var baseID: Int64
    var dimension: Int
    var featureRows: Int
    var gram: Data
    var createdAt: String
}
