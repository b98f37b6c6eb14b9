/// JSON-ready views of the catalog, field names as in CLI.md "Concepts".

public struct TokenInfo: Codable, Sendable, Equatable {
    public let token: String
    public let category: String
}

public struct ConceptSummary: Codable, Sendable {
    public let name: String
    public let latestVersion: Int
    public let base: String
    public let tokens: [TokenInfo]
    public let tags: [String]
    enum CodingKeys: String, CodingKey {
        case name, base, tokens, tags
        case latestVersion = "latest_version"
    }
}

public struct LayerInfo: Codable, Sendable {
    /// `<diffusers layer>.to_k` / `.to_v`.
    public let name: String
    public let rank: Int
    public let relativeError: Double
    enum CodingKeys: String, CodingKey {
        case name, rank
        case relativeError = "relative_error"
    }
}

public struct SourceFileInfo: Codable, Sendable {
    public let path: String
    public let sha256: String
}

public struct VersionDetails: Codable, Sendable {
    public let name: String
    public let version: Int
    public let base: String
    public let tokens: [TokenInfo]
    public let kind: String
    public let description: String
    public let tags: [String]
    public let createdAt: String
    public let parentVersion: Int?
    public let source: [SourceFileInfo]
    public let sourceFormat: String
    public let compression: CompressionInfo
    public let layers: [LayerInfo]
    public let storedBytes: Int
    enum CodingKeys: String, CodingKey {
        case name, version, base, tokens, kind, description, tags, source, layers, compression
        case createdAt = "created_at"
        case parentVersion = "parent_version"
        case sourceFormat = "source_format"
        case storedBytes = "stored_bytes"
    }

    /// Like the synthesised encoder, but `parent_version` is written as `null` for a first version
    /// rather than left out (the field is part of the CLI contract).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(version, forKey: .version)
        try c.encode(base, forKey: .base)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(kind, forKey: .kind)
        try c.encode(description, forKey: .description)
        try c.encode(tags, forKey: .tags)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(parentVersion, forKey: .parentVersion)
        try c.encode(source, forKey: .source)
        try c.encode(sourceFormat, forKey: .sourceFormat)
        try c.encode(compression, forKey: .compression)
        try c.encode(layers, forKey: .layers)
        try c.encode(storedBytes, forKey: .storedBytes)
    }
}

public struct CompressionInfo: Codable, Sendable {
    public let policy: String
    public let maxRelativeError: Double
    enum CodingKeys: String, CodingKey {
        case policy
        case maxRelativeError = "max_relative_error"
    }
}

public struct VersionSummary: Codable, Sendable {
    public let version: Int
    public let createdAt: String
    public let aliases: [String]
    public let storedBytes: Int
    enum CodingKeys: String, CodingKey {
        case version, aliases
        case createdAt = "created_at"
        case storedBytes = "stored_bytes"
    }
}

public struct AliasResult: Codable, Sendable {
    public let name: String
    public let version: Int
    public let alias: String
}

/// Filters of `concepts list`.
public struct ConceptFilter: Sendable {
    public var base: String?
    public var category: String?
    public var tag: String?
    public var search: String?
    public init(base: String? = nil, category: String? = nil, tag: String? = nil, search: String? = nil) {
        self.base = base
        self.category = category
        self.tag = tag
        self.search = search
    }
}
