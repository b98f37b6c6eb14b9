/// A concept reference as the CLI accepts it (CLI.md "Conventions"): `NAME` (the latest version),
/// `NAME@N` (version N) or `NAME@ALIAS` (a tag; `NAME@latest` is the same as `NAME`).
public struct ConceptReference: Sendable, Hashable, CustomStringConvertible {
    public enum Selector: Sendable, Hashable {
        case latest
        case version(Int)
        case alias(String)
    }

    public let name: String
    public let selector: Selector

    public init(name: String, selector: Selector = .latest) {
        self.name = name
        self.selector = selector
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let name = parts.first, !name.isEmpty else { throw RegistryError.invalidReference(text) }
        self.name = name
        guard parts.count == 2 else {
            selector = .latest
            return
        }
        let tail = parts[1]
        guard !tail.isEmpty, !tail.contains("@") else { throw RegistryError.invalidReference(text) }
        if tail == "latest" {
            selector = .latest
        } else if let number = Int(tail) {
            guard number >= 1 else { throw RegistryError.invalidReference(text) }
            selector = .version(number)
        } else {
            selector = .alias(tail)
        }
    }

    public var description: String {
        switch selector {
        case .latest: name
        case .version(let n): "\(name)@\(n)"
        case .alias(let a): "\(name)@\(a)"
        }
    }

    /// Checks a concept or alias name: printable, no `@`, no path separators, not empty.
    static func validate(name: String, kind: String) throws {
        let reason: String? =
            if name.isEmpty { "it is empty" }
            else if name.contains("@") { "it contains '@'" }
            else if name.contains("/") { "it contains '/'" }
            else if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { "it contains control characters" }
            else if name.count > 200 { "it is longer than 200 characters" }
            else if let first = name.first, first.isWhitespace || name.last!.isWhitespace { "it starts or ends with whitespace" }
            else { nil }
        if let reason { throw RegistryError.invalidName(kind: kind, name: name, reason: reason) }
    }
}
