/// Deterministic distinct token names for a composition: concepts are taken in the
/// order given; a token whose name is already taken becomes `<stem-concept>` (then `<stem-concept-2>`, …),
/// so two concepts trained as `<new1>` compose as `<new1>` and `<new1-dog>`. (The original's `compose`
/// in `src/diffusers_composenW.py` renames every concept's token to `<new1>`, `<new2>`, … in order.)
public enum TokenRenaming {
    /// One name per requested (concept, token), in order.
    public static func assign(_ requested: [(concept: String, token: String)]) -> [String] {
        var taken = Set<String>()
        return requested.map { entry in
            var name = entry.token
            if taken.contains(name) {
                let stem = entry.token.hasPrefix("<") && entry.token.hasSuffix(">") ? String(entry.token.dropFirst().dropLast()) : entry.token
                let base = "<\(stem)-\(entry.concept)>"
                name = base
                var n = 2
                while taken.contains(name) {
                    name = "<\(stem)-\(entry.concept)-\(n)>"
                    n += 1
                }
            }
            taken.insert(name)
            return name
        }
    }
}
