import Foundation

/// The few S3 XML bodies we read (ListObjectsV2, InitiateMultipartUpload, ListMultipartUploads,
/// Error): flat elements with text content, read by name. Not a general XML parser: no
/// attributes, CDATA or namespaces are needed for these documents; entities are decoded.
enum S3XML {
    /// The text of every `<name>…</name>` element directly inside each `<block>…</block>` (in order).
    static func blocks(_ block: String, in xml: String) -> [String] {
        var result: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(block)>"), let close = rest.range(of: "</\(block)>", range: open.upperBound..<rest.endIndex) {
            result.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return result
    }

    /// The decoded text of the first `<name>…</name>` in `xml`, or nil (also for `<name/>`: empty).
    static func value(_ name: String, in xml: String) -> String? {
        if xml.contains("<\(name)/>") && !xml.contains("<\(name)>") { return "" }
        guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else { return nil }
        return decode(String(xml[open.upperBound..<close.lowerBound]))
    }

    /// XML's five predefined entities and numeric character references.
    static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number: UInt32? = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                if let number, let scalar = Unicode.Scalar(number) { out.unicodeScalars.append(scalar) } else { out += "&\(entity);" }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }

    /// Escapes text for an XML element (the CompleteMultipartUpload body's ETags).
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// S3's ISO 8601 timestamps (`2026-11-29T08:00:00.000Z`, fractional seconds optional).
    static func date(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return date }
        return ISO8601DateFormatter().date(from: text)
    }
}
