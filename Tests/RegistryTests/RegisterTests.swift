import CustomDiffusion
import Foundation
import Testing
@testable import Registry

@Suite("register")
struct RegisterTests {
    /// Lossless ΔW must equal torch's W′ − W0 bit for bit, in every full-weight format.
    @Test("every full-weight format stores torch's ΔW exactly (lossless)",
          arguments: [("cat-diffusers", [String]()), ("cat-diffusers-bin", []), ("cat-adobe.bin", []), ("cat-compvis.ckpt", ["<new1>"]),
                      ("bad/duplicate-token-diffusers", [])])  // <new1>.safetensors and an agreeing <new1>.bin
    func losslessFormats(fixture: String, tokens: [String]) throws {
        let t = try TestStore.withTinyBase()
        let result = try t.register("cat", fixture, tokens: tokens)
        #expect(result.version == 1)
        #expect(result.tokens == [TokenInfo(token: "<new1>", category: "cat")])
        #expect(result.compression.maxRelativeError == 0)
        let golden = try SDTiny.goldenTensors("cat.safetensors")
        let resolved = try t.store.resolve(ConceptReference(name: "cat"))
        let deltas = try t.store.deltas(versionID: resolved.versionID)
        #expect(deltas.count == 32)
        for (key, delta) in deltas {
            let expected = try #require(golden[key.description], "golden lacks \(key)")
            #expect(try delta.reconstruct().storage == expected.floats(), "ΔW of \(key)")
        }
        let embedding = try t.store.tokenEmbeddings(versionID: resolved.versionID)
        #expect(embedding.map(\.name) == ["<new1>"])
        #expect(try embedding[0].embedding == golden["embedding.<new1>"]?.floats())
    }

    @Test("the compressed adobe format keeps its factors as the delta, exactly (lossless)")
    func adobeCompressed() throws {
        let t = try TestStore.withTinyBase()
        _ = try t.register("cat", "cat-adobe-compressed.bin")
        let deltas = try t.store.deltas(versionID: try t.store.resolve(ConceptReference(name: "cat")).versionID)
        #expect(deltas.count == 32)
        let file = try ConceptCheckpoint.read(path: SDTiny.concept("cat-adobe-compressed.bin"))
        for (key, delta) in deltas {
            guard case .factors = delta.storage, case .delta(let up, let down)? = file.weights[key] else {
                Issue.record("\(key) should be stored as the file's factors"); continue
            }
            // The original code's energy rule may keep no singular value at all (rank 0) on these tiny layers.
            #expect(delta.rank == up.cols)
            #expect(try delta.reconstruct() == Matrix.matmul(up, down), "\(key)")
        }
    }

    @Test("a joint two-token output keeps both tokens in order")
    func jointOutput() throws {
        let t = try TestStore.withTinyBase()
        let result = try t.register("pair", "pair-diffusers", categories: ["cat", "dog"])
        #expect(result.tokens == [TokenInfo(token: "<new1>", category: "cat"), TokenInfo(token: "<new2>", category: "dog")])
        let golden = try SDTiny.goldenTensors("pair.safetensors")
        let embeddings = try t.store.tokenEmbeddings(versionID: try t.store.resolve(ConceptReference(name: "pair")).versionID)
        #expect(try embeddings.map(\.embedding) == [golden["embedding.<new1>"]?.floats(), golden["embedding.<new2>"]?.floats()])
    }

    @Test("each policy stores what it promises", arguments: ["fp16", "rank:2", "energy:0.6", "error:0.05", "lossless"])
    func policies(policy: String) throws {
        let t = try TestStore.withTinyBase()
        let result = try t.register("cat", "cat-diffusers", policy: policy)
        let details = try t.store.details(ConceptReference(name: "cat"))
        #expect(details.compression.policy == policy)
        #expect(details.layers.count == 32)
        let golden = try SDTiny.goldenTensors("cat.safetensors")
        let deltas = try t.store.deltas(versionID: try t.store.resolve(ConceptReference(name: "cat")).versionID)
        var worst = 0.0
        for layer in details.layers {
            let key = try #require(deltas.keys.first { $0.description == layer.name })
            let truth = try #require(golden[layer.name]).matrix()
            let measured = (try deltas[key]!.reconstruct() - truth).frobeniusNorm / truth.frobeniusNorm
            // `show` reports the error measured on what is stored.
            #expect(abs(measured - layer.relativeError) <= 1e-6 + 1e-3 * measured, "\(layer.name): reported \(layer.relativeError), measured \(measured)")
            worst = max(worst, measured)
            if policy == "rank:2" { #expect(layer.rank <= 2) }
            if policy == "error:0.05" { #expect(measured <= 0.05 + 1e-3) }
        }
        #expect(abs(result.compression.maxRelativeError - worst) <= 1e-6 + 1e-3 * worst)
        if policy == "lossless" { #expect(worst == 0) }
        if policy == "fp16" { #expect(worst > 0 && worst < 1e-3) }
    }

    @Test("registering a name again adds the next version; tags move; latest follows")
    func versioning() throws {
        let t = try TestStore.withTinyBase()
        #expect(try t.register("cat", "cat-diffusers", tags: ["stable"]).version == 1)
        #expect(try t.register("cat", "cat-adobe.bin").version == 2)
        #expect(try t.store.resolve(ConceptReference(name: "cat")).version == 2)
        #expect(try t.store.resolve(ConceptReference(parsing: "cat@stable")).version == 1)
        let details = try t.store.details(ConceptReference(name: "cat"))
        #expect(details.parentVersion == 1)
        #expect(details.sourceFormat == "adobe")
        #expect(try t.store.details(ConceptReference(parsing: "cat@1")).parentVersion == nil)
        _ = try t.store.tag(ConceptReference(name: "cat"), alias: "stable")
        #expect(try t.store.resolve(ConceptReference(parsing: "cat@stable")).version == 2)
        let versions = try t.store.versions(of: "cat")
        #expect(versions.map(\.version) == [1, 2])
        #expect(versions[1].aliases == ["latest", "stable"])
        _ = try t.store.untag(name: "cat", alias: "stable")
        #expect(throws: RegistryError.unknownAlias(name: "cat", alias: "stable")) { try t.store.resolve(ConceptReference(parsing: "cat@stable")) }
        #expect(throws: RegistryError.unknownVersion(name: "cat", version: 3)) { try t.store.resolve(ConceptReference(parsing: "cat@3")) }
        #expect(throws: RegistryError.self) { try t.store.tag(ConceptReference(name: "cat"), alias: "latest") }
    }

    @Test("list filters by base, category, tag and full-text search")
    func listing() throws {
        let t = try TestStore.withTinyBase()
        _ = try t.register("cat", "cat-diffusers", tags: ["prod"])
        _ = try t.store.register(RegisterRequest(name: "dog", base: "tiny", path: SDTiny.concept("dog-diffusers"), categories: ["dog"],
                                                          compression: .lossless, description: "A corgi called Biscuit"))
        _ = try t.register("pair", "pair-diffusers", categories: ["cat", "teapot"])
        #expect(try t.store.listConcepts().map(\.name) == ["cat", "dog", "pair"])
        #expect(try t.store.listConcepts(ConceptFilter(category: "cat")).map(\.name) == ["cat", "pair"])
        #expect(try t.store.listConcepts(ConceptFilter(tag: "prod")).map(\.name) == ["cat"])
        #expect(try t.store.listConcepts(ConceptFilter(base: "other")).isEmpty)
        #expect(try t.store.listConcepts(ConceptFilter(search: "corgi")).map(\.name) == ["dog"])
        #expect(try t.store.listConcepts(ConceptFilter(search: "bisc")).map(\.name) == ["dog"])
        #expect(try t.store.listConcepts(ConceptFilter(search: "teapot")).map(\.name) == ["pair"])
        #expect(try t.store.listConcepts(ConceptFilter(search: "new2")).map(\.name) == ["pair"])
        #expect(try t.store.listConcepts(ConceptFilter(search: "prod")).map(\.name) == ["cat"])
        let cat = try #require(t.store.listConcepts().first)
        #expect(cat.latestVersion == 1 && cat.base == "tiny" && cat.tags == ["prod"])
    }
}

@Suite("register refusals store nothing")
struct RegisterRefusalTests {
    /// Each bad input is refused with an error that names the problem, and leaves the catalog and blobs as they were.
    @Test("bad concept files", arguments: [
        ("bad/nan-diffusers", "NaN"), ("bad/missing-layer-diffusers", "up_blocks.3.attentions.2"),
        ("bad/wrong-shape-diffusers", "mid_block"), ("bad/disagreeing-token-diffusers", "disagree on token <new1>"),
        ("does-not-exist", "does-not-exist"),
    ])
    func badFiles(fixture: String, mentions: String) throws {
        let t = try TestStore.withTinyBase()
        let blobs = try t.store.blobs.allHashes()
        do {
            _ = try t.register("cat", fixture)
            Issue.record("\(fixture) was accepted")
        } catch {
            #expect(error.localizedDescription.contains(mentions), "\(error.localizedDescription)")
        }
        #expect(try t.count("concept_version") == 0)
        #expect(try t.count("concept") == 0)
        #expect(try t.store.blobs.allHashes() == blobs)
    }

    @Test("a concept trained from another base is refused, names the layer, and --force overrides")
    func wrongBase() throws {
        let t = try TestStore.withTinyBase()
        do {
            _ = try t.register("odd", "otherbase-diffusers")
            Issue.record("accepted a delta from another base")
        } catch let error as RegistryError {
            guard case .implausibleDelta(let layer, let ratio, _, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(layer.contains("attn2.to_"))
            #expect(ratio > Store.plausibleDeltaRatio)
        }
        #expect(try t.count("concept_version") == 0)
        #expect(try t.register("odd", "otherbase-diffusers", force: true).version == 1)
    }

    @Test("the right base is suggested when the store has it")
    func suggestsBase() throws {
        let t = try TestStore.withTinyBase()
        // Register the cat against the CompVis copy of the base (fp16-rounded W0): plausible there too.
        _ = try t.store.addBase(name: "tiny-compvis", path: SDTiny.baseCompVis)
        _ = try t.register("cat-on-compvis", "cat-diffusers", base: "tiny-compvis")
        // A delta trained from "otherbase" fits neither, so no suggestion is made.
        #expect(try Store.suggestBase(for: .read(path: SDTiny.concept("otherbase-diffusers")), excluding: 1, store: t.store) == nil)
        // The cat fits "tiny" when checked from the CompVis base's side.
        #expect(try Store.suggestBase(for: .read(path: SDTiny.concept("cat-diffusers")), excluding: 2, store: t.store) == "tiny")
    }

    @Test("other refusals: unknown base, category count, concept on another base, bad names")
    func otherRefusals() throws {
        let t = try TestStore.withTinyBase()
        #expect(throws: RegistryError.unknownBase("nope")) { try t.register("cat", "cat-diffusers", base: "nope") }
        #expect(throws: RegistryError.self) { try t.register("cat", "cat-diffusers", categories: []) }
        #expect(throws: RegistryError.self) { try t.register("cat", "pair-diffusers", categories: ["cat"]) }
        #expect(throws: RegistryError.self) { try t.register("cat@1", "cat-diffusers") }
        #expect(throws: RegistryError.self) { try t.register("", "cat-diffusers") }
        _ = try t.store.addBase(name: "tiny2", path: SDTiny.base)
        _ = try t.register("cat", "cat-diffusers")
        #expect(throws: RegistryError.wrongBase(concept: "cat", expected: "tiny2", actual: "tiny")) { try t.register("cat", "cat-diffusers", base: "tiny2") }
        #expect(try t.count("concept_version") == 1)
    }
}
