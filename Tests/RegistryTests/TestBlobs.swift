import Foundation
import Registry
import RegistryS3

/// The blob backend of the registry tests (issue 12: one suite, both backends). The local folder
/// by default; with `CONCEPTS_TEST_BLOBS=s3` and the moto server's variables
/// (`. "$(scripts/services/moto.sh start)"`), every `TestStore` keeps its blobs in a fresh bucket.
enum TestBlobs {
    static let environment = ProcessInfo.processInfo.environment
    static var useS3: Bool { environment["CONCEPTS_TEST_BLOBS"] == "s3" }
    /// True when blobs are local files (tests that edit blob files directly need it).
    static var isLocal: Bool { !useS3 }

    /// nil: the store's own `blobs/` folder.
    static func make() throws -> (any BlobStorage)? {
        guard useS3 else { return nil }
        guard let endpoint = environment["CONCEPTS_TEST_S3_ENDPOINT"], let access = environment["CONCEPTS_TEST_S3_ACCESS_KEY"],
              let secret = environment["CONCEPTS_TEST_S3_SECRET_KEY"] else {
            throw RegistryError.io(path: "CONCEPTS_TEST_BLOBS=s3", reason: "needs CONCEPTS_TEST_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY (scripts/services/moto.sh start)")
        }
        let bucket = "concepts-registry-" + UUID().uuidString.lowercased().prefix(18)
        let store = try S3BlobStore(url: "s3://\(bucket)/blobs", environment: [
            "AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret, "AWS_ENDPOINT_URL_S3": endpoint,
            "AWS_REGION": "us-east-1", "CONCEPTS_S3_COMPAT": "moto"])
        try S3Client.wait(store.client.createBucket())
        return store
    }
}
