/// What a concept was trained as, which decides its target prompts (`TargetFeatures.prompts`): an
/// object or subject (`"T c"`, `"a photo of T c"`) or a style (`"T c"`, `"painting in the style of T c"`).
public enum ConceptKind: String, Sendable, CaseIterable {
    case object, style
}
