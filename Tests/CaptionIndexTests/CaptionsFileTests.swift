@testable import CaptionIndex
import Foundation
import Testing

/// Caption file parsing (RFC 4180 CSV/TSV, JSONL, TXT) against the records Python's csv/json wrote.
@Suite struct CaptionsFileTests {
    struct Expected: Decodable { let caption: String; let url: String; let path: String }

    @Test(arguments: ["good.csv", "good.tsv", "good.jsonl"])
    func readsDelimitedAndJSONLines(file: String) throws {
        let expected = try JSONDecoder().decode([Expected].self, from: Data(contentsOf: CaptionsFixtures.directory.appendingPathComponent("files/good.json")))
        let records = try CaptionFileReader(path: CaptionsFixtures.path("files/" + file)).readAll()
        #expect(records.map(\.caption) == expected.map(\.caption))
        #expect(records.map(\.url) == expected.map(\.url))
        #expect(records.map(\.path) == expected.map(\.path))
    }

    @Test func readsText() throws {
        let records = try CaptionFileReader(path: CaptionsFixtures.path("files/good.txt")).readAll()
        #expect(records.map(\.caption) == ["first caption", "second caption", "third caption"])
        #expect(records.map(\.line) == [1, 3, 4])
    }

    @Test func raggedRowNamesTheLine() {
        let path = CaptionsFixtures.path("files/bad_ragged.csv")
        #expect(throws: CaptionError.malformedCaptionFile(path: path, line: 3, reason: "3 fields, the header has 2")) {
            try CaptionFileReader(path: path).readAll()
        }
    }

    @Test func missingCaptionColumn() {
        let path = CaptionsFixtures.path("files/bad_nocaption.csv")
        #expect(throws: CaptionError.missingCaptionColumn(path: path, columns: ["text", "url"])) { try CaptionFileReader(path: path).readAll() }
    }

    @Test func otherBadFiles() {
        let unterminated = CaptionsFixtures.path("files/bad_unterminated.csv")
        #expect(throws: CaptionError.malformedCaptionFile(path: unterminated, line: 2, reason: "unterminated quoted field")) {
            try CaptionFileReader(path: unterminated).readAll()
        }
        let noCaption = CaptionsFixtures.path("files/bad_nocaption.jsonl")
        #expect(throws: CaptionError.malformedCaptionFile(path: noCaption, line: 2, reason: "no string 'caption' field")) {
            try CaptionFileReader(path: noCaption).readAll()
        }
        let badJSON = CaptionsFixtures.path("files/bad_json.jsonl")
        #expect(throws: CaptionError.malformedCaptionFile(path: badJSON, line: 2, reason: "not a JSON object")) {
            try CaptionFileReader(path: badJSON).readAll()
        }
        let parquet = CaptionsFixtures.path("files/bad_extension.parquet")
        #expect(throws: CaptionError.unsupportedCaptionFile(path: parquet)) { try CaptionFileReader(path: parquet) }
    }
}
