import Foundation
import Testing

/// CLI.md "Conventions": `--store DIR` is a root option that every command accepts, before or after
/// the command's name; numbers are values wherever a number is expected, negative ones included.
@Suite("root options and numeric values", .serialized)
struct RootOptionsCLITests {
    let store = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-root-\(UUID().uuidString)").path

    /// Every leaf command with arguments that parse (the command itself may then fail: exit 1, not 64).
    func everyCommand(scratch: URL) -> [[String]] {
        let file = fixturePath("sd-tiny/concepts/cat-diffusers/<new1>.safetensors")
        let out = scratch.appendingPathComponent("out").path
        return [
            ["init"], ["inspect", file], ["convert", file, scratch.appendingPathComponent("copy.safetensors").path],
            ["base", "add", "b", scratch.appendingPathComponent("missing").path], ["base", "list"], ["base", "show", "b"],
            ["encoder", "add", "e", scratch.appendingPathComponent("missing").path], ["encoder", "list"],
            ["tokenize", "--base", "b", "a"], ["encode", "--base", "b", "a"],
            ["register", "c", "--base", "b", fixturePath("sd-tiny/concepts/cat-diffusers")],
            ["list"], ["show", "c"], ["versions", "c"], ["tag", "c", "prod"], ["untag", "c", "prod"],
            ["export", "c", "--format", "lora", "--out", out], ["compose", "c", "--out", out],
            ["captions", "import", file], ["captions", "search", "a cat", "--set", "s"], ["captions", "sets"],
            ["regset", "create", "r", "--base", "b", "--query", "a cat"], ["regset", "export", "r", "--out", out],
            ["regset", "list"], ["regset", "show", "r"], ["verify"], ["gc"],
        ]
    }

    @Test("--store is accepted by every command, before the command, after it and between command words")
    func storeEverywhere() throws {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch); try? FileManager.default.removeItem(atPath: store) }
        for command in everyCommand(scratch: scratch) {
            var placements = [["--store", store] + command, command + ["--store", store], command + ["--store=\(store)"]]
            if command.count >= 2, ["base", "encoder", "captions", "regset"].contains(command[0]) {
                placements.append([command[0], "--store", store] + command.dropFirst())
            }
            for arguments in placements {
                let r = try runConcepts(arguments + ["--json"], env: ["CONCEPTS_STORE": scratch.appendingPathComponent("env-store").path])
                #expect(r.status == 0 || r.status == 1, "concepts \(arguments.joined(separator: " ")): \(r.status) \(r.stderr)")
                #expect(!r.stderr.contains("Unknown option") && !r.stderr.contains("Unexpected argument"), "\(arguments): \(r.stderr)")
                if r.status == 1 { #expect(r.stderr.hasPrefix("error: "), "\(arguments): \(r.stderr)") }
            }
        }
        // The store named by --store was used wherever it stood, never $CONCEPTS_STORE.
        #expect(FileManager.default.fileExists(atPath: store + "/catalog.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: scratch.appendingPathComponent("env-store").path))
    }

    @Test("--store after the command names the store the command works on")
    func storeAfterCommand() throws {
        defer { try? FileManager.default.removeItem(atPath: store) }
        #expect(try runConcepts(["base", "add", "tiny", fixturePath("sd-tiny/base"), "--store", store, "--json"]).status == 0)
        let listed = try runConcepts(["base", "--store", store, "list", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let bases = try #require(try jsonObject(listed.stdout)["bases"] as? [[String: Any]])
        #expect(bases.compactMap { $0["name"] as? String } == ["tiny"])
        let elsewhere = try runConcepts(["base", "list", "--json", "--store", store + "-other"])
        #expect(elsewhere.status == 0)
        #expect((try jsonObject(elsewhere.stdout)["bases"] as? [Any])?.isEmpty == true, "\(elsewhere.stdout)")
        try? FileManager.default.removeItem(atPath: store + "-other")
    }

    @Test("negative numbers are values: --threshold -1, --limit -1 (refused as a value, not an option)")
    func negativeNumbers() throws {
        defer { try? FileManager.default.removeItem(atPath: store) }
        let r0 = try runConcepts(["--store", store, "captions", "import", fixturePath("captions/golden.txt"),
                                  "--embeddings", fixturePath("captions/golden_f32.npy"), "--json"])
        #expect(r0.status == 0, "\(r0.stderr)")
        let count = try #require(try jsonObject(r0.stdout)["imported"] as? Int)
        let added = try runConcepts(["--store", store, "encoder", "add", "tiny", fixturePath("captions/encoder"), "--json"])
        #expect(added.status == 0, "\(added.stderr)")
        // Threshold −1 admits every caption: the limit decides.
        let all = try runConcepts(["--store", store, "captions", "search", "a city at night", "--encoder", "tiny", "--threshold", "-1", "--limit", "\(count + 5)", "--json"])
        #expect(all.status == 0, "\(all.stderr)")
        let results = try #require(try jsonObject(all.stdout)["results"] as? [[String: Any]])
        #expect(results.count == count)
        let similarities = results.compactMap { $0["similarity"] as? Double }
        #expect(similarities == similarities.sorted(by: >) && similarities.count == count)
        // The value is the one used (these similarities are all positive; 0.5 splits them).
        let cut = 0.5
        let some = try runConcepts(["--store", store, "captions", "search", "a city at night", "--encoder", "tiny", "--threshold", "\(cut)", "--limit", "\(count + 5)", "--json"])
        #expect(some.status == 0, "\(some.stderr)")
        let kept = similarities.filter { $0 >= cut }.count
        #expect(kept > 0 && kept < count)
        #expect((try jsonObject(some.stdout)["results"] as? [Any])?.count == kept)
        // A negative limit is a value that fails validation (usage error, 64), not an unknown option.
        let negative = try runConcepts(["--store", store, "captions", "search", "a", "--limit", "-1"])
        #expect(negative.status == 64 && negative.stderr.contains("--limit must be positive"), "\(negative.stderr)")
        let regset = try runConcepts(["--store", store, "regset", "create", "r", "--base", "none", "--query", "a", "--threshold", "-0.5"])
        #expect(regset.status == 1 && regset.stderr.contains("none") && !regset.stderr.contains("Unknown option"), "\(regset.stderr)")
    }
}
