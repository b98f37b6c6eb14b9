import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import Registry
@testable import RegistryS3

@Suite("S3 client: retries, configuration, addressing (no S3 needed)")
struct S3ClientTests {
    @Test("503 twice then 200: the request is retried and succeeds on the third attempt")
    func retriesThenSucceeds() throws {
        let server = try ScriptedServer(statuses: [503, 503, 200])
        defer { server.close() }
        let client = S3Client(configuration: try localConfiguration(port: server.port))
        try S3Client.wait(client.deleteObject(key: "ab/abc"))
        #expect(server.requests == Array(repeating: "DELETE /bucket/ab/abc", count: 3))
    }

    @Test("a 5xx that never ends fails after maxAttempts attempts with S3's error code")
    func retriesAreBounded() throws {
        let server = try ScriptedServer(statuses: [500])
        defer { server.close() }
        let client = S3Client(configuration: try localConfiguration(port: server.port, maxAttempts: 3))
        #expect(throws: S3Error.http(method: "HEAD", key: "k", status: 500, code: "", message: "")) {
            _ = try S3Client.wait(client.headObject(key: "k"))
        }
        #expect(server.requests.count == 3)
        // GET has a body: S3's code and message come through.
        #expect(throws: S3Error.http(method: "GET", key: "k", status: 500, code: "SlowDown", message: "scripted 500")) {
            _ = try S3Client.wait(client.getObject(key: "k"))
        }
        #expect(server.requests.count == 6)
    }

    @Test("4xx other than 429 is not retried")
    func clientErrorsAreFinal() throws {
        let server = try ScriptedServer(statuses: [403])
        defer { server.close() }
        let client = S3Client(configuration: try localConfiguration(port: server.port))
        #expect(throws: S3Error.self) { try S3Client.wait(client.deleteObject(key: "k")) }
        #expect(server.requests.count == 1)
    }

    @Test("connection errors are retried, then reported with the number of attempts")
    func connectionRefused() throws {
        // A port that was just free: bind, note it, close.
        let probe = try ScriptedServer(statuses: [200])
        let port = probe.port
        probe.close()
        let client = S3Client(configuration: try localConfiguration(port: port, maxAttempts: 3))
        do {
            _ = try S3Client.wait(client.headObject(key: "k"))
            Issue.record("expected a transport error")
        } catch let error as S3Error {
            guard case .transport(_, let key, let attempts, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(key == "k" && attempts == 3)
        }
    }

    @Test("a batch whose upload keeps failing throws from commit (so no catalog row is written)")
    func batchCommitSurfacesFailures() throws {
        // HEAD → 404 (not stored yet), then every PUT attempt → 500.
        let server = try ScriptedServer(statuses: [404, 500])
        defer { server.close() }
        let store = try S3BlobStore(bucket: "bucket", prefix: "p", configuration: try localConfiguration(port: server.port, maxAttempts: 2))
        let batch = store.batch()
        let put = try batch.put(Data("never stored".utf8))
        #expect(put.isNew)
        #expect(throws: S3Error.http(method: "PUT", key: store.key(for: put.sha256), status: 500, code: "SlowDown", message: "scripted 500")) {
            try batch.commit()
        }
        #expect(server.requests == ["HEAD /bucket/\(store.key(for: put.sha256))"] + Array(repeating: "PUT /bucket/\(store.key(for: put.sha256))", count: 2))
    }

    @Test("backoff doubles from baseDelay up to maxDelay")
    func backoff() throws {
        var configuration = try localConfiguration(port: 1)
        configuration.baseDelay = 0.1
        configuration.maxDelay = 0.5
        #expect([1, 2, 3, 4, 5].map { configuration.backoff(retry: $0) } == [0.1, 0.2, 0.4, 0.5, 0.5])
    }

    @Test("waiting on an event-loop thread is refused instead of deadlocking")
    func refusesEventLoopThreads() throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let result = try loop.submit { () -> Bool in
            do {
                _ = try S3Client.wait(loop.makeSucceededFuture(1))
                return false
            } catch S3Error.calledOnEventLoop {
                return true
            } catch {
                return false
            }
        }.wait()
        #expect(result)
    }

    @Test("configuration from the AWS variables: endpoint override → path style; AWS → virtual host")
    func configurationFromEnvironment() throws {
        let base = ["AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"]
        let aws = try S3Configuration(bucket: "my-bucket", environment: base.merging(["AWS_DEFAULT_REGION": "eu-west-1"]) { a, _ in a })
        #expect(aws.region == "eu-west-1")
        #expect(aws.endpoint.url(key: "p/ab/abc", query: []) == "https://my-bucket.s3.eu-west-1.amazonaws.com/p/ab/abc")
        #expect(aws.credentials.sessionToken == nil)
        let dotted = try S3Configuration(bucket: "my.bucket", environment: base)
        #expect(dotted.endpoint.url(key: "k", query: []) == "https://s3.us-east-1.amazonaws.com/my.bucket/k")
        let local = try S3Configuration(bucket: "b1b", environment: base.merging([
            "AWS_ENDPOINT_URL": "http://ignored:1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000", "AWS_REGION": "us-west-2",
            "AWS_DEFAULT_REGION": "ignored", "AWS_SESSION_TOKEN": "tok"]) { a, _ in a })
        #expect(local.region == "us-west-2")
        #expect(local.credentials.sessionToken == "tok")
        #expect(local.endpoint.hostHeader == "127.0.0.1:9000")
        #expect(local.endpoint.url(key: nil, query: [("list-type", "2"), ("prefix", "a b/")]) == "http://127.0.0.1:9000/b1b?list-type=2&prefix=a%20b%2F")
        #expect(local.endpoint.url(key: "k", query: [("uploads", "")]) == "http://127.0.0.1:9000/b1b/k?uploads")
        #expect(!local.queryKeepsSlash)
        // moto compatibility: `/` stays raw in query values, in the URL and in what is signed.
        let moto = try S3Configuration(bucket: "b1b", environment: base.merging(["CONCEPTS_S3_COMPAT": "moto"]) { a, _ in a })
        #expect(moto.queryKeepsSlash)
        #expect(moto.endpoint.url(key: nil, query: [("prefix", "a b/")], queryKeepsSlash: true).hasSuffix("?prefix=a%20b/"))
        #expect(SigV4Signer.canonicalQuery([("prefix", "p/")], keepSlash: true) == "prefix=p/")
        #expect(throws: S3Error.missingSetting("AWS_SECRET_ACCESS_KEY")) { try S3Configuration(bucket: "b1b", environment: ["AWS_ACCESS_KEY_ID": "AK"]) }
        #expect(throws: S3Error.invalidEndpoint("ftp://x")) {
            try S3Configuration(bucket: "b1b", environment: base.merging(["AWS_ENDPOINT_URL_S3": "ftp://x"]) { a, _ in a })
        }
    }

    @Test("s3:// URLs: bucket and prefix, bad ones refused")
    func urls() throws {
        #expect(try S3BlobStore.parse("s3://bucket") == ("bucket", ""))
        #expect(try S3BlobStore.parse("s3://bucket/") == ("bucket", ""))
        #expect(try S3BlobStore.parse("s3://bucket/team/blobs/") == ("bucket", "team/blobs"))
        for bad in ["bucket/x", "s3://", "s3://Upper", "s3://ab", "s3://bucket/a//b", "s3://bucket/../x"] {
            #expect(throws: S3Error.self, "\(bad)") { try S3BlobStore.parse(bad) }
        }
    }

    @Test("object keys: prefix/aa/<sha256>; only such keys are blobs")
    func keys() throws {
        let store = try S3BlobStore(url: "s3://bucket/team", environment: ["AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"])
        let sha = String(repeating: "ab", count: 32)
        #expect(store.key(for: sha) == "team/ab/" + sha)
        #expect(store.location(of: sha) == "s3://bucket/team/ab/" + sha)
        #expect(store.location == "s3://bucket/team")
        #expect(store.localPath(for: sha) == nil)
        #expect(store.blobName(ofKey: "team/ab/" + sha) == sha)
        #expect(store.blobName(ofKey: "team/cd/" + sha) == nil)
        #expect(store.blobName(ofKey: "team/ab/" + sha.uppercased()) == nil)
        #expect(store.blobName(ofKey: "other/ab/" + sha) == nil)
        #expect(store.blobName(ofKey: "team/ab/" + sha + ".tmp") == nil)
    }

    @Test("S3 XML: entities decoded, blocks split, dates with and without fractions")
    func xml() throws {
        let xml = "<R><Contents><Key>a&amp;b&#x41;</Key></Contents><Contents><Key>c</Key></Contents><IsTruncated>false</IsTruncated></R>"
        #expect(S3XML.blocks("Contents", in: xml).compactMap { S3XML.value("Key", in: $0) } == ["a&bA", "c"])
        #expect(S3XML.value("IsTruncated", in: xml) == "false")
        #expect(S3XML.value("Missing", in: xml) == nil)
        #expect(S3XML.date("2026-11-29T08:00:00.000Z") == S3XML.date("2026-11-29T08:00:00Z"))
        #expect(S3XML.date("2026-11-29T08:00:00Z")?.timeIntervalSince1970 == 1_795_939_200)
    }
}
