import CustomDiffusion
import Foundation

/// What `concepts compose` was asked to do (CLI.md "Composition").
public struct ComposeRequest: Sendable {
    public var references: [String]
    /// A regularization set name; nil = the default set shipped with the project.
    public var regset: String?
    public var format: ExportFormat
    public var output: URL
    /// False (`--no-cache`): recompute even when the same composition was made before.
    public var useCache: Bool

    public init(references: [String], regset: String? = nil, format: ExportFormat = .diffusers, output: URL, useCache: Bool = true) {
        self.references = references
        self.regset = regset
        self.format = format
        self.output = output
        self.useCache = useCache
    }
}
