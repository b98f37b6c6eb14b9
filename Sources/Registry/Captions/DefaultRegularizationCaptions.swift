/// The default regularization captions that ship with ConceptRegistry: compose uses them when no
/// regularization set is named. They are the resource `Resources/default-regularization-captions.txt`
/// (provenance and format at its top: hand-written, generic captions, 250, no two identical),
/// embedded in the binary at build time, so no resource bundle has to be found at run time.
public enum DefaultRegularizationCaptions {
    /// The name of the shipped regularization set.
    public static let name = "default"

    /// The captions in file order (the order of Creg's rows): every line that is neither empty nor a
    /// `#` comment.
    public static let captions: [String] = parse(String(decoding: PackageResources.default_regularization_captions_txt, as: UTF8.self))

    /// The caption lines of the resource's text.
    static func parse(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
            line.hasPrefix("#") ? nil : String(line)
        }
    }
}
