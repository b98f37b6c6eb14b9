import Foundation
import Testing

/// The registry through the built binary: JSON contract, crash safety and concurrent writers.
@Suite("registry CLI", .serialized)
struct RegistryCLITests {
    let store = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-cli-\(UUID().uuidString)").path

    func json(_ args: [String]) throws -> [String: Any] {
        let r = try runConcepts(["--store", store] + args + ["--json"])
        #expect(r.status == 0, "concepts \(args.joined(separator: " ")): \(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return try #require(object, "stdout is not one JSON object: \(r.stdout)")
    }

    @Test("base add, register, list, show, versions, tag, export, verify — JSON fields as in CLI.md")
    func flow() throws {
        defer { try? FileManager.default.removeItem(atPath: store) }
        let base = try json(["base", "add", "tiny", fixturePath("sd-tiny/base")])
        #expect(base["name"] as? String == "tiny" && base["architecture"] as? String == "sd1")
        #expect(base["cross_attention_layers"] as? Int == 16)
        #expect((base["bytes_new"] as? Int ?? 0) > 0 && (base["bytes_new"] as? Int ?? 0) <= (base["bytes_total"] as? Int ?? 0))
        let again = try json(["base", "add", "tiny2", fixturePath("sd-tiny/base")])
        #expect(again["bytes_new"] as? Int == 0)

        let reg = try json(["register", "cat", "--base", "tiny", "--category", "cat", "--description", "grey tabby", "--tag", "prod",
                            fixturePath("sd-tiny/concepts/cat-diffusers")])
        #expect(reg["version"] as? Int == 1 && reg["base"] as? String == "tiny")
        #expect((reg["tokens"] as? [[String: String]]) == [["token": "<new1>", "category": "cat"]])
        #expect((reg["stored_bytes"] as? Int ?? 0) > 0)
        let compression = try #require(reg["compression"] as? [String: Any])
        #expect(compression["policy"] as? String == "error:0.05")
        #expect((compression["max_relative_error"] as? Double ?? 1) <= 0.05)

        let v2 = try json(["register", "cat", "--base", "tiny", "--category", "cat", "--token", "<new1>", "--compress", "lossless",
                           fixturePath("sd-tiny/concepts/cat-compvis.ckpt")])
        #expect(v2["version"] as? Int == 2)

        let list = try json(["list", "--search", "tabby"])
        let concepts = try #require(list["concepts"] as? [[String: Any]])
        #expect(concepts.count == 1 && concepts[0]["name"] as? String == "cat" && concepts[0]["latest_version"] as? Int == 2)
        #expect(concepts[0]["tags"] as? [String] == ["prod"])

        let show = try json(["show", "cat@prod"])
        #expect(show["version"] as? Int == 1 && show["kind"] as? String == "object" && show["description"] as? String == "grey tabby")
        #expect((show["layers"] as? [[String: Any]])?.count == 32)
        #expect((show["source"] as? [[String: Any]])?.allSatisfy { ($0["sha256"] as? String)?.count == 64 } == true)
        for field in ["name", "version", "base", "tokens", "kind", "description", "tags", "created_at", "parent_version", "source", "layers", "stored_bytes"] {
            #expect(show.keys.contains(field), "show lacks \(field)")
        }
        let versions = try json(["versions", "cat"])
        #expect((versions["versions"] as? [[String: Any]])?.map { $0["version"] as? Int } == [1, 2])
        let tag = try json(["tag", "cat@2", "prod"])
        #expect(tag["version"] as? Int == 2 && tag["alias"] as? String == "prod")

        let out = store + "/exports"
        for format in ["diffusers", "lora", "compvis", "adobe"] {
            let export = try json(["export", "cat@1", "--format", format, "--out", out + "/" + format])
            let files = try #require(export["files"] as? [String])
            #expect(!files.isEmpty && files.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "\(format): \(files)")
        }
        let verify = try json(["verify"])
        #expect((verify["problems"] as? [String]) == [])
        #expect((verify["blobs_checked"] as? Int ?? 0) > 100)
    }

    @Test("errors: one line on stderr, exit 1, nothing on stdout")
    func errors() throws {
        defer { try? FileManager.default.removeItem(atPath: store) }
        _ = try json(["base", "add", "tiny", fixturePath("sd-tiny/base")])
        for args in [["show", "ghost"], ["register", "x", "--base", "nope", "--category", "c", fixturePath("sd-tiny/concepts/cat-diffusers")],
                     ["register", "x", "--base", "tiny", "--category", "c", fixturePath("sd-tiny/concepts/bad/nan-diffusers")],
                     ["export", "ghost", "--format", "lora", "--out", store + "/o"]] {
            let r = try runConcepts(["--store", store] + args + ["--json"])
            #expect(r.status == 1, "\(args)")
            #expect(r.stdout.isEmpty, "\(args): \(r.stdout)")
            #expect(r.stderr.hasPrefix("error: "), "\(args): \(r.stderr)")
        }
        let usage = try runConcepts(["--store", store, "export", "x", "--format", "png", "--out", "/tmp/x"])
        #expect(usage.status == 64)
    }

    @Test("a register killed at any moment leaves no partial version and nothing verify flags")
    func killedWriter() throws {
        defer { try? FileManager.default.removeItem(atPath: store) }
        _ = try json(["base", "add", "tiny", fixturePath("sd-tiny/base")])
        guard let binary = conceptsBinary else { throw CLITestSupportError(description: "no binary") }
        var completed = 0
        for attempt in 0..<12 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["--store", store, "register", "cat", "--base", "tiny", "--category", "cat", "--compress", "rank:2",
                                 fixturePath("sd-tiny/concepts/cat-diffusers")]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(5_000 + attempt * 9_000))  // 5 ms … 104 ms: before, during and after the work
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .exit && process.terminationStatus == 0 { completed += 1 }
        }
        let verify = try runConcepts(["--store", store, "verify", "--json"])
        #expect(verify.status == 0, "verify after kills: \(verify.stdout) \(verify.stderr)")
        // Every version that is visible is complete: it shows all layers and exports.
        let listed = try runConcepts(["--store", store, "versions", "cat", "--json"])
        if listed.status != 0 {
            #expect(completed == 0 && listed.stderr.contains("unknown concept"), "no version may be missing: \(listed.stderr)")
        } else {
            let object = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any]
            let numbers = (object?["versions"] as? [[String: Any]])?.compactMap { $0["version"] as? Int } ?? []
            #expect(numbers == Array(1..<(numbers.count + 1)), "versions are consecutive: \(numbers)")
            #expect(numbers.count >= completed)
            for n in numbers {
                let show = try json(["show", "cat@\(n)"])
                #expect((show["layers"] as? [[String: Any]])?.count == 32)
                _ = try json(["export", "cat@\(n)", "--format", "lora", "--out", store + "/e\(n)"])
            }
        }
        let gc = try json(["gc"])
        #expect(gc["blobs_removed"] != nil)
        #expect(try runConcepts(["--store", store, "verify", "--json"]).status == 0)
    }

    @Test("concurrent registers of one name all land, with distinct consecutive versions")
    func concurrentWriters() throws {
        defer { try? FileManager.default.removeItem(atPath: store) }
        _ = try json(["base", "add", "tiny", fixturePath("sd-tiny/base")])
        guard let binary = conceptsBinary else { throw CLITestSupportError(description: "no binary") }
        let writers = 6
        var processes: [Process] = []
        for i in 0..<writers {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["--store", store, "register", "cat", "--base", "tiny", "--category", "cat", "--description", "writer \(i)",
                                 fixturePath(i % 2 == 0 ? "sd-tiny/concepts/cat-diffusers" : "sd-tiny/concepts/cat-adobe.bin")]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            processes.append(process)
        }
        for process in processes { try process.run() }
        for process in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let versions = try json(["versions", "cat"])
        #expect((versions["versions"] as? [[String: Any]])?.compactMap { $0["version"] as? Int } == Array(1...writers))
        var descriptions = Set<String>()
        for n in 1...writers { descriptions.insert(try json(["show", "cat@\(n)"])["description"] as? String ?? "") }
        #expect(descriptions.count == writers, "every writer's version landed once")
        #expect(try runConcepts(["--store", store, "verify", "--json"]).status == 0)
    }
}
