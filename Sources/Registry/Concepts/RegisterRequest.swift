import CustomDiffusion
import Foundation

/// What `concepts register` was asked to do (CLI.md "Concepts").
public struct RegisterRequest: Sendable {
    /// Object or style (the method's `ConceptKind`: it decides the target prompts).
    public typealias Kind = ConceptKind

    public var name: String
    public var base: String
    public var path: URL
    /// One category per token, in token order (`--category`).
    public var categories: [String]
    /// Token names for formats that do not store them (CompVis `embed`), or to rename (`--token`).
    public var tokens: [String]
    public var kind: Kind
    public var compression: CompressionPolicy
    public var description: String
    public var tags: [String]
    /// Register even when the delta looks as if it was trained from another base.
    public var force: Bool

    public init(name: String, base: String, path: URL, categories: [String] = [], tokens: [String] = [], kind: Kind = .object,
                compression: CompressionPolicy = .default, description: String = "", tags: [String] = [], force: Bool = false) {
        self.name = name
        self.base = base
        self.path = path
        self.categories = categories
        self.tokens = tokens
        self.kind = kind
        self.compression = compression
        self.description = description
        self.tags = tags
        self.force = force
    }
}

/// The JSON result of `register`.
public struct RegisterResult: Codable, Sendable {
    public let name: String
    public let version: Int
    public let base: String
    public let tokens: [TokenInfo]
    public let storedBytes: Int
    public let compression: CompressionInfo
    enum CodingKeys: String, CodingKey {
        case name, version, base, tokens, compression
        case storedBytes = "stored_bytes"
    }
}
