import CaptionIndex
import Foundation
import Registry

/// `captions`: import and search of generated caption sets of 100k and 1M captions × 768 (CLIP ViT-L/14 width).
///
/// Data: unit vectors `normalize(c_k + 0.45·g/√d)` around random unit centres `c_k` (500 captions per cluster, `g`
/// standard normal), written as a float16 `.npy` + a `.txt` of captions under `bench/out/` (kept for
/// `bench/captions_faiss.py`). Queries: 20 centres perturbed with spread 0.3, so that ~0.85–0.9 similarities exist.
/// Figures: a whole `concepts captions import` process (seconds, CPU seconds, peak RSS; it writes the side index
/// too), the first search's seconds (opens the side index), median `search_ms` for top-200 at
/// threshold −1 (no pruning: the scan's worst case) and at 0.85, recall@200 against an exact Float32 scan of the
/// stored fp16 vectors (a result within 1e-6 of the 200th exact similarity counts: ties summed in another order;
/// `recall_at_200_strict_min` without that, and misses are described on stderr), the first pass's bytes per query (1-bit codes + factors) / median time (effective
/// bandwidth), and the machine's read bandwidth (a 1 GiB sum with 1 and 2 threads) for the scan's floor.
/// `CAPTIONS_BENCH_SIZES=100000` limits the sizes. `CAPTIONS_BENCH_DATA=aniso` uses CLIP-like anisotropic data
/// instead (files `captions-aniso-N…`, figures under `aniso-N`): `x = normalize(0.632·m + 0.7·l + 0.33·e)` with one
/// common direction `m` (mean cosine between captions ≈ 0.4, as CLIP text embeddings have a strong common
/// component), `l` a unit vector in a 32-dimensional latent space with decaying variances (a continuum, no
/// clusters: the 200th best similarity has many captions close to it) and `e` unit noise; queries alike.
enum CaptionsBench {
    static let dimension = 768

    static let suite = BenchSuite(name: "captions") {
        let sizes = ProcessInfo.processInfo.environment["CAPTIONS_BENCH_SIZES"].map { $0.split(separator: ",").compactMap { Int($0) } } ?? [100_000, 1_000_000]
        var figures: [String: Any] = [:]
        let aniso = ProcessInfo.processInfo.environment["CAPTIONS_BENCH_DATA"] == "aniso"
        for n in sizes { figures[aniso ? "aniso-\(n)" : "\(n)"] = try run(n: n, aniso: aniso) }
        // Last: its 1 GiB buffer would raise this process's RSS high-water mark, which a child spawned
        // afterwards inherits in its `wait4` peak (posix_spawn shares the address space until exec).
        figures["read_sum_1GiB_GBps"] = readBandwidth()
        return figures
    }

    /// Benchmark vectors from a seeded `SplitMix64`.
    struct Generator {
        var random: SplitMix64
        init(state: UInt64) { random = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { random.next() }
        /// Approximately standard normal (sum of 4 uniforms, rescaled): cheap and good enough for clusters.
        mutating func gaussian() -> Float {
            var s: Float = 0
            for _ in 0..<4 { s += Float(next() >> 40) / Float(1 << 24) }
            return (s - 2) * 1.7320508
        }
        mutating func unit(_ d: Int) -> [Float] {
            let v = (0..<d).map { _ in gaussian() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
        mutating func around(_ centre: [Float], spread: Float) -> [Float] {
            let scale = spread / Float(centre.count).squareRoot()
            let v = centre.map { $0 + scale * gaussian() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
    }

    /// Writes `captions-N.txt`, `captions-N.npy` (float16) and `captions-N-queries.npy` (float32) once.
    static func generate(n: Int, directory: URL, aniso: Bool = false) throws -> (text: URL, npy: URL, queries: [[Float]]) {
        let d = dimension
        let name = aniso ? "captions-aniso-\(n)" : "captions-\(n)"
        let text = directory.appendingPathComponent("\(name).txt"), npy = directory.appendingPathComponent("\(name).npy")
        let queriesURL = directory.appendingPathComponent("\(name)-queries.npy")
        var g = Generator(state: 42)
        let clusters = max(1, n / 500)
        let centres = aniso ? [] : (0..<clusters).map { _ in g.unit(d) }
        // Anisotropic data: a common direction, 32 latent directions with decaying scales, noise.
        let common = g.unit(d), latent = (0..<32).map { _ in g.unit(d) }
        func anisotropic(_ g: inout Generator) -> [Float] {
            var l = [Float](repeating: 0, count: d)
            for (k, b) in latent.enumerated() {
                let z = g.gaussian() / (1 + Float(k) / 4).squareRoot()
                for j in 0..<d { l[j] += z * b[j] }
            }
            let ln = l.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let e = g.unit(d)
            let x = (0..<d).map { 0.632 * common[$0] + 0.7 * l[$0] / ln + 0.33 * e[$0] }
            let norm = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return x.map { $0 / norm }
        }
        let queries = aniso ? (0..<20).map { _ in anisotropic(&g) } : (0..<20).map { q in g.around(centres[(q * 7919) % clusters], spread: 0.3) }
        if !FileManager.default.fileExists(atPath: npy.path) {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: text.path, contents: nil)
            _ = FileManager.default.createFile(atPath: npy.path + ".tmp", contents: nil)
            guard let th = FileHandle(forWritingAtPath: text.path), let nh = FileHandle(forWritingAtPath: npy.path + ".tmp") else {
                throw CaptionError.io(path: npy.path, reason: "cannot create")
            }
            try nh.write(contentsOf: header(descr: "<f2", rows: n, cols: d))
            var textChunk = Data(), rowChunk = Data()
            for i in 0..<n {
                textChunk += Data(aniso ? "generated caption \(i)\n".utf8 : "generated caption \(i) of cluster \(i % clusters)\n".utf8)
                for v in aniso ? anisotropic(&g) : g.around(centres[i % clusters], spread: 0.45) {
                    withUnsafeBytes(of: HalfPrecision.float16Bits(from: v).littleEndian) { rowChunk.append(contentsOf: $0) }
                }
                if rowChunk.count >= 1 << 24 { try nh.write(contentsOf: rowChunk); try th.write(contentsOf: textChunk); rowChunk = Data(); textChunk = Data() }
            }
            try nh.write(contentsOf: rowChunk); try th.write(contentsOf: textChunk)
            try nh.close(); try th.close()
            try FileManager.default.moveItem(atPath: npy.path + ".tmp", toPath: npy.path)
        }
        var q = header(descr: "<f4", rows: queries.count, cols: d)
        for row in queries { for v in row { withUnsafeBytes(of: v.bitPattern.littleEndian) { q.append(contentsOf: $0) } } }
        try q.write(to: queriesURL)
        return (text, npy, queries)
    }

    static func header(descr: String, rows: Int, cols: Int) -> Data {
        var h = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(rows), \(cols)), }"
        while (10 + h.count + 1) % 64 != 0 { h += " " }
        h += "\n"
        return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)]) + Data(h.utf8)
    }

    /// Memory bandwidth: the best of 5 sums over 1 GiB of UInt64 (already paged in), per thread count 1 and 2.
    static func readBandwidth() -> [String: Double] {
        let words = 1 << 27
        let buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        defer { buffer.deallocate() }
        for i in 0..<words { buffer[i] = UInt64(i) }
        nonisolated(unsafe) let base = UnsafePointer(buffer)
        var figures: [String: Double] = [:]
        for threads in [1, 2] {
            var best = Double.infinity
            for _ in 0..<5 {
                let seconds = measureSeconds {
                    DispatchQueue.concurrentPerform(iterations: threads) { part in
                        var s0: UInt64 = 0, s1: UInt64 = 0, s2: UInt64 = 0, s3: UInt64 = 0
                        var i = words * part / threads
                        let end = words * (part + 1) / threads
                        while i < end { s0 &+= base[i]; s1 &+= base[i + 1]; s2 &+= base[i + 2]; s3 &+= base[i + 3]; i += 4 }
                        if s0 &+ s1 &+ s2 &+ s3 == 42 { FileHandle.standardError.write(Data("!".utf8)) }
                    }
                }
                best = min(best, seconds)
            }
            figures["threads_\(threads)"] = Double(words * 8) / best / 1e9
        }
        return figures
    }

    static func run(n: Int, aniso: Bool) throws -> [String: Any] {
        let d = dimension
        let out = URL(fileURLWithPath: "bench/out/captions", isDirectory: true)
        FileHandle.standardError.write(Data("captions: generating \(n)…\n".utf8))
        let (text, npy, queries) = try generate(n: n, directory: out, aniso: aniso)
        // CAPTIONS_BENCH_KEEP=1 keeps the store (and its index) under bench/out/captions/store-N and reuses it.
        let keep = ProcessInfo.processInfo.environment["CAPTIONS_BENCH_KEEP"] == "1"
        let root = keep ? out.appendingPathComponent(aniso ? "store-aniso-\(n)" : "store-\(n)")
            : FileManager.default.temporaryDirectory.appendingPathComponent("captions-bench-\(UUID().uuidString)")
        let reuse = keep && FileManager.default.fileExists(atPath: root.appendingPathComponent("cache/captions").path)
        defer { if !keep { try? FileManager.default.removeItem(at: root) } }
        let store = try Store(root: root, create: true)
        var imported = 0, firstSearch = 0.0
        var importFigures: [String: Any] = [:]
        if !reuse {
            // A whole `concepts captions import` process (it also writes the set's scan index).
            FileHandle.standardError.write(Data("captions: importing \(n)…\n".utf8))
            // Reset this process's RSS high-water mark (Linux `clear_refs` 5): the child's `wait4` peak
            // starts from it (posix_spawn shares the address space until exec).
            try? Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/self/clear_refs"))
            let outcome = try ChildProcess.run(try SD1BenchStore.binary(), ["--store", root.path, "captions", "import", text.path,
                                                                          "--set", "bench", "--embeddings", npy.path, "--json"])
            imported = try outcome.json()["imported"] as? Int ?? 0
            importFigures = ["import_seconds": outcome.seconds, "import_cpu_seconds": outcome.cpuSeconds, "import_max_rss_mb": outcome.maxRSSMegabytes]
        }
        firstSearch = try measureSeconds { _ = try store.searchCaptions(vector: queries[0], set: "bench", threshold: -1, limit: 200) }
        // CAPTIONS_BENCH_SEARCH_ONLY=1: 10 rounds of the 20 queries, no exact reference (for profiling).
        if ProcessInfo.processInfo.environment["CAPTIONS_BENCH_SEARCH_ONLY"] == "1" {
            var times: [Double] = []
            for _ in 0..<10 { for q in queries { times.append(try measureSeconds { _ = try store.searchCaptions(vector: q, set: "bench", threshold: -1, limit: 200) } * 1000) } }
            times.sort()
            return ["captions": n, "search_ms_median_threshold_-1": times[times.count / 2], "search_ms_min": times[0], "first_search_seconds": firstSearch]
        }

        // Exact reference: Float32 dot products with the stored fp16 vectors — the .npy rows normalised
        // in Float64 and rounded to fp16 as `captions import` stores them.
        let matrix = try NumpyMatrixFile(path: npy.path)
        var data = [Float](repeating: 0, count: n * d)
        data.withUnsafeMutableBufferPointer { all in
            for i in 0..<n {
                let row = UnsafeMutableBufferPointer(rebasing: all[(i * d)..<((i + 1) * d)])
                matrix.readRow(i, into: row)
                let norm = row.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                for j in 0..<d { row[j] = HalfPrecision.float(fromFloat16Bits: HalfPrecision.float16Bits(from: Float(Double(row[j]) / norm))) }
            }
        }
        var recalls: [Double] = [], strictRecalls: [Double] = [], times: [Double] = [], times85: [Double] = [], above85: [Int] = []
        for q in queries {
            var sims = [Float](repeating: 0, count: n)
            let nq = q.map { $0 / q.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            data.withUnsafeBufferPointer { all in
                for i in 0..<n {
                    var s: Float = 0
                    for j in 0..<d { s += nq[j] * all[i * d + j] }
                    sims[i] = s
                }
            }
            let ranked = (0..<n).sorted { sims[$0] > sims[$1] }
            let exact = Set(ranked.prefix(200).map { Int64($0 + 1) })  // ids are 1-based rowids
            var results: [CaptionMatch] = []
            times.append(try measureSeconds { results = try store.searchCaptions(vector: q, set: "bench", threshold: -1, limit: 200) } * 1000)
            strictRecalls.append(Double(Set(results.map(\.id)).intersection(exact).count) / 200)
            // Ties: a result whose exact similarity is within 1e-6 of the 200th counts (Float32 sums in another order).
            let cut = sims[ranked[199]] - 1e-6
            recalls.append(Double(Set(results.map(\.id)).filter { sims[Int($0) - 1] >= cut }.count) / 200)
            if strictRecalls.last! < 1 {  // which captions differ, and by how much (ties at the 200th?)
                let missed = exact.subtracting(results.map(\.id)).map { "\($0): \(sims[Int($0) - 1])" }
                let extra = Set(results.map(\.id)).subtracting(exact).map { "\($0): \(sims[Int($0) - 1])" }
                FileHandle.standardError.write(Data("captions: recall miss — 200th exact \(sims[ranked[199]]), 201st \(sims[ranked[200]]); missed \(missed), returned instead \(extra)\n".utf8))
            }
            var r85: [CaptionMatch] = []
            times85.append(try measureSeconds { r85 = try store.searchCaptions(vector: q, set: "bench", threshold: 0.85, limit: 200) } * 1000)
            above85.append(r85.count)
        }
        times.sort(); times85.sort()
        let median = times[times.count / 2]
        let scanBytes = n * ((d + 63) / 64 * 8 + 16)  // 1-bit codes + 4 Float32 factors per caption
        return importFigures.merging([
            "captions": n, "imported": imported, "first_search_seconds": firstSearch,
            "search_ms_median_threshold_-1": median, "search_ms_median_threshold_0.85": times85[times85.count / 2],
            "search_ms_max_threshold_-1": times.last ?? 0, "recall_at_200_min": recalls.min() ?? 0, "recall_at_200_strict_min": strictRecalls.min() ?? 0,
            "recall_at_200_mean": recalls.reduce(0, +) / Double(recalls.count), "results_above_0.85_median": above85.sorted()[above85.count / 2],
            "scan_bytes": scanBytes, "effective_scan_GBps": Double(scanBytes) / (median / 1000) / 1e9,
        ]) { $1 }
    }
}
