import Foundation
import Testing
@testable import TensorFormats

/// The strict JSON reader behind header validation, and the serde_json-compatible string writer.
@Suite("Safetensors JSON")
struct SafetensorsJSONTests {
    private func parse(_ text: String) throws -> SafetensorsJSON { try SafetensorsJSON.parse(Array(text.utf8)) }

    @Test("keeps object members in order, duplicates included, and numbers as text")
    func ordersAndDuplicates() throws {
        guard case .object(let members) = try parse(#" {"b": 1, "a": [2.5, -0, 1e3], "b": "x"}  "#) else {
            Issue.record("not an object"); return
        }
        #expect(members.map(\.key) == ["b", "a", "b"])
        #expect(members[0].value.integer == 1)
        guard case .array(let items) = members[1].value else { Issue.record("not an array"); return }
        #expect(items.map(\.integer) == [nil, 0, nil])
        guard case .number("2.5") = items[0] else { Issue.record("number text lost"); return }
    }

    @Test("decodes escapes and surrogate pairs")
    func escapes() throws {
        guard case .string(let s) = try parse(#""a\"b\\c\/d\n\t\u00e9\ud83c\udfa8""#) else { Issue.record("not a string"); return }
        #expect(s == "a\"b\\c/d\n\té🎨")
    }

    @Test("refuses what RFC 8259 does not allow", arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", ".5", "+1", "1e", "tru", "nul",
        "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"\u{01}\"", "{} x", "// c\n{}", "{'a':1}", "{\"a\" 1}", "NaN",
        String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func refuses(_ text: String) {
        #expect(throws: SafetensorsJSON.ParseError.self) { try parse(text) }
    }

    @Test("reports the failing byte")
    func errorPosition() {
        #expect(throws: SafetensorsJSON.ParseError(offset: 6, message: "expected ',', found ']'")) {
            try parse(#"{"a":1]"#)
        }
    }

    @Test("quotes strings as serde_json does")
    func quoting() throws {
        #expect(SafetensorsJSON.quoted("plain") == #""plain""#)
        #expect(SafetensorsJSON.quoted("q\"b\\s/") == #""q\"b\\s/""#)
        #expect(SafetensorsJSON.quoted("\u{08}\u{0C}\n\r\t\u{01}\u{1F}\u{7F}") == "\"\\b\\f\\n\\r\\t\\u0001\\u001f\u{7F}\"")
        #expect(SafetensorsJSON.quoted("é 🎨") == "\"é 🎨\"")
        // The Rust crate wrote this escape into metadata.safetensors' header.
        let header = String(decoding: try SafetensorsFixtures.bytes("metadata.safetensors"), as: UTF8.self)
        #expect(header.contains(SafetensorsJSON.quoted("line\nbreak\ttab\u{01}")))
        #expect(header.contains(SafetensorsJSON.quoted("quote\"and\\slash")))
    }
}
