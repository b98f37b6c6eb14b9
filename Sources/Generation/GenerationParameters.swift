import Foundation

/// The "parameters" text chunk in the format AUTOMATIC1111's web UI writes and the common UIs read and show:
///
///     PROMPT
///     Negative prompt: NEGATIVE                      (only when there is one)
///     Steps: N, Sampler: NAME, CFG scale: S, Seed: S, Size: WxH, Model: BASE, Concepts: name@v, …
public struct GenerationParameters: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String
    public var steps: Int
    public var sampler: String
    public var guidance: Double
    public var seed: UInt64
    public var width: Int
    public var height: Int
    public var base: String
    public var concepts: [String]
    public var eta: Double?

    public var text: String {
        var lines = [prompt]
        if !negativePrompt.isEmpty { lines.append("Negative prompt: \(negativePrompt)") }
        var fields = ["Steps: \(steps)", "Sampler: \(sampler)", "CFG scale: \(Self.format(guidance))", "Seed: \(seed)",
                      "Size: \(width)x\(height)", "Model: \(base)"]
        if let eta, eta > 0 { fields.append("Eta: \(Self.format(eta))") }
        if !concepts.isEmpty { fields.append("Concepts: \(concepts.joined(separator: ", "))") }
        lines.append(fields.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    /// 7.5 → "7.5", 7.0 → "7" (A1111 prints Python floats; integers without ".0" read better and parse the same).
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
