import Foundation
import Registry
import RegistryS3

/// Suite `blobs` (issue 12 item 8, blob side): blob store throughput, the local folder beside S3.
///
/// Data: fp16 samples of a normal distribution (what weight blobs hold; zstd gains ~10 % on them),
/// `count` blobs of `blobBytes` each, stored through one batch (as `register` and `base add` do),
/// then read back (`buffer`: GET/read, decompress, re-hash). Plus one blob of `largeBytes`, over the
/// 64 MiB multipart threshold on S3. MB/s are of uncompressed bytes (1 MB = 10⁶ bytes); `put` runs
/// are on distinct data (content addressing would skip repeats), medians of `runs`.
///
/// S3 runs when `CONCEPTS_TEST_S3_ENDPOINT`, `_ACCESS_KEY`, `_SECRET_KEY` are set (the moto server of
/// `scripts/services/moto.sh start`, on loopback: a Python server, so these are moto's figures, not
/// S3's); otherwise its entry says why it was skipped.
enum BlobsBench {
    static let count = 16
    static let blobBytes = 4 << 20
    static let largeBytes = 80 << 20
    static let runs = 3

    static let suite = BenchSuite(name: "blobs") {
        var figures: [String: Any] = ["blob_bytes": blobBytes, "blobs_per_batch": count, "large_blob_bytes": largeBytes]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-bench-blobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        figures["folder"] = try measure(BlobStore(directory: folder))

        let environment = ProcessInfo.processInfo.environment
        if let endpoint = environment["CONCEPTS_TEST_S3_ENDPOINT"], let access = environment["CONCEPTS_TEST_S3_ACCESS_KEY"],
           let secret = environment["CONCEPTS_TEST_S3_SECRET_KEY"] {
            let bucket = "concepts-bench-" + UUID().uuidString.lowercased().prefix(12)
            let store = try S3BlobStore(url: "s3://\(bucket)/blobs", environment: [
                "AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret, "AWS_ENDPOINT_URL_S3": endpoint,
                "AWS_REGION": "us-east-1", "CONCEPTS_S3_COMPAT": "moto"])
            try S3Client.wait(store.client.createBucket())
            var s3 = try measure(store)
            s3["endpoint"] = endpoint
            figures["s3_moto"] = s3
        } else {
            figures["s3_moto"] = "skipped: CONCEPTS_TEST_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY not set (scripts/services/moto.sh start)"
        }
        return figures
    }

    static func measure(_ store: any BlobStorage) throws -> [String: Any] {
        var putSeconds: [Double] = []
        var hashes: [String] = []
        for run in 0..<runs {
            let blobs = (0..<count).map { weights(blobBytes, seed: UInt64(run * 1000 + $0 + 1)) }
            var puts: [BlobPutResult] = []
            putSeconds.append(try measureSeconds {
                let batch = store.batch()
                puts = try blobs.map { try batch.put($0) }
                try batch.commit()
            })
            hashes = puts.map(\.sha256)
        }
        let getSeconds = try medianSeconds(runs: runs) {
            for sha in hashes { _ = try store.buffer(sha) }
        }
        let large = weights(largeBytes, seed: 99)
        var largePut: BlobPutResult?
        let largePutSeconds = try measureSeconds { largePut = try store.put(large) }
        let largeSHA = largePut?.sha256 ?? ""
        let largeGetSeconds = try measureSeconds { _ = try store.buffer(largeSHA) }
        let megabytes = Double(count * blobBytes) / 1e6
        return [
            "location": store.location,
            "put_mb_per_s": megabytes / putSeconds.sorted()[runs / 2],
            "get_mb_per_s": megabytes / getSeconds,
            "large_put_mb_per_s": Double(largeBytes) / 1e6 / largePutSeconds,
            "large_get_mb_per_s": Double(largeBytes) / 1e6 / largeGetSeconds,
            "large_stored_bytes": largePut?.storedSize ?? 0,
        ]
    }

    /// fp16 samples of N(0, 0.02²) (a typical weight scale), seeded.
    static func weights(_ bytes: Int, seed: UInt64) -> Data {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func uniform() -> Float {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return (Float(state >> 40) + 0.5) / Float(1 << 24)
        }
        var values = [Float16](repeating: 0, count: bytes / 2)
        var i = 0
        while i < values.count {
            // Box–Muller: two normal samples per pair of uniforms.
            let r = (-2 * log(uniform())).squareRoot() * 0.02
            let theta = 2 * Float.pi * uniform()
            values[i] = Float16(r * cos(theta))
            if i + 1 < values.count { values[i + 1] = Float16(r * sin(theta)) }
            i += 2
        }
        return values.withUnsafeBytes { Data($0) }
    }
}
