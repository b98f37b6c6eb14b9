import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Object operations (S3 API reference: PutObject, HeadObject, GetObject, DeleteObject, ListObjectsV2, CreateBucket).
extension S3Client {
    /// What `HEAD` says about an object.
    public struct ObjectInfo: Sendable, Equatable {
        public let size: Int
        public let lastModified: Date?
        public let eTag: String?
    }

    /// One object of a listing.
    public struct ListedObject: Sendable, Equatable {
        public let key: String
        public let size: Int
        public let lastModified: Date
    }

    /// One ListObjectsV2 page; `nextContinuationToken` is nil on the last page.
    public struct ListPage: Sendable {
        public let objects: [ListedObject]
        public let nextContinuationToken: String?
    }

    public enum PutOutcome: Sendable, Equatable {
        case created
        /// `If-None-Match: *` and the key exists (412): content-addressed, so nothing to do.
        case alreadyExists
    }

    /// `PUT` with the payload's SHA-256 signed (`x-amz-content-sha256`: S3 recomputes it and refuses
    /// a body that does not match) and, with `ifNoneMatch`, `If-None-Match: *` (never overwrite).
    /// S3 answers 200 only once the whole object is stored durably; it never keeps partial objects.
    public func putObject(key: String, body: NIOCore.ByteBuffer, ifNoneMatch: Bool = true) -> EventLoopFuture<PutOutcome> {
        send(.PUT, key: key, headers: ifNoneMatch ? [("if-none-match", "*")] : [], body: body, accept: [200, 412])
            .map { $0.status == 412 ? .alreadyExists : .created }
    }

    /// `HEAD`: nil when the object does not exist.
    public func headObject(key: String) -> EventLoopFuture<ObjectInfo?> {
        send(.HEAD, key: key, accept: [200, 404]).flatMapThrowing { response in
            guard response.status == 200 else { return nil }
            guard let size = response.headers.first(name: "content-length").flatMap(Int.init) else {
                throw S3Error.malformedResponse(operation: "HEAD \(key)", reason: "no Content-Length")
            }
            let modified = response.headers.first(name: "last-modified").flatMap(Self.httpDate)
            return ObjectInfo(size: size, lastModified: modified, eTag: response.headers.first(name: "etag"))
        }
    }

    /// `GET`, optionally of the inclusive byte range `range` (`Range: bytes=a-b`, answered 206):
    /// nil when the object does not exist.
    public func getObject(key: String, range: ClosedRange<Int>? = nil) -> EventLoopFuture<NIOCore.ByteBuffer?> {
        let headers = range.map { [("range", "bytes=\($0.lowerBound)-\($0.upperBound)")] } ?? []
        return send(.GET, key: key, headers: headers, accept: range == nil ? [200, 404] : [206, 404]).map { response in
            response.status == 404 ? nil : (response.body ?? NIOCore.ByteBuffer())
        }
    }

    /// Sets an object's `LastModified` to now without sending its bytes again: CopyObject onto
    /// itself with `x-amz-metadata-directive: REPLACE` (a server-side copy; objects up to 5 GB).
    public func touchObject(key: String) -> EventLoopFuture<Void> {
        let source = SigV4Signer.uriEncode("\(configuration.endpoint.bucket)/\(key)", keepSlash: true)
        return send(.PUT, key: key, headers: [("x-amz-copy-source", source), ("x-amz-metadata-directive", "REPLACE")])
            .flatMapThrowing { response in
                // CopyObject can answer 200 with an <Error> body (documented).
                let text = response.text
                if text.contains("<Error>") {
                    throw S3Error.http(method: "PUT", key: key, status: response.status,
                                       code: S3XML.value("Code", in: text) ?? "", message: S3XML.value("Message", in: text) ?? "")
                }
            }
    }

    /// `DELETE` (S3 answers 204 whether or not the key existed).
    public func deleteObject(key: String) -> EventLoopFuture<Void> {
        send(.DELETE, key: key, accept: [200, 204, 404]).map { _ in () }
    }

    /// One ListObjectsV2 page of keys under `prefix`.
    public func listObjects(prefix: String, continuationToken: String? = nil, maxKeys: Int? = nil) -> EventLoopFuture<ListPage> {
        var query: [(String, String)] = [("list-type", "2"), ("prefix", prefix), ("max-keys", String(maxKeys ?? configuration.listPageSize))]
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        return send(.GET, key: nil, query: query).flatMapThrowing { response in
            let xml = response.text
            guard xml.contains("ListBucketResult") else {
                throw S3Error.malformedResponse(operation: "ListObjectsV2", reason: "no ListBucketResult")
            }
            let objects = try S3XML.blocks("Contents", in: xml).map { block -> ListedObject in
                guard let key = S3XML.value("Key", in: block), let size = S3XML.value("Size", in: block).flatMap(Int.init),
                      let modified = S3XML.value("LastModified", in: block).flatMap(S3XML.date) else {
                    throw S3Error.malformedResponse(operation: "ListObjectsV2", reason: "a Contents entry without Key, Size or LastModified")
                }
                return ListedObject(key: key, size: size, lastModified: modified)
            }
            let truncated = S3XML.value("IsTruncated", in: xml) == "true"
            let token = S3XML.value("NextContinuationToken", in: xml)
            if truncated && (token ?? "").isEmpty {
                throw S3Error.malformedResponse(operation: "ListObjectsV2", reason: "truncated without a NextContinuationToken")
            }
            return ListPage(objects: objects, nextContinuationToken: truncated ? token : nil)
        }
    }

    /// Every object under `prefix`, following continuation tokens (synchronous).
    public func listAllObjects(prefix: String, pageSize: Int? = nil) throws -> [ListedObject] {
        var all: [ListedObject] = []
        var token: String?
        repeat {
            let page = try Self.wait(listObjects(prefix: prefix, continuationToken: token, maxKeys: pageSize))
            all += page.objects
            token = page.nextContinuationToken
        } while token != nil
        return all
    }

    /// `PUT /bucket` (tests and first-time setup; an existing bucket of ours is fine).
    public func createBucket() -> EventLoopFuture<Void> {
        send(.PUT, key: nil, accept: [200, 409]).flatMapThrowing { response in
            if response.status == 409, S3XML.value("Code", in: response.text) != "BucketAlreadyOwnedByYou" {
                throw S3Error.http(method: "PUT", key: self.configuration.endpoint.bucket, status: 409,
                                   code: S3XML.value("Code", in: response.text) ?? "", message: S3XML.value("Message", in: response.text) ?? "")
            }
        }
    }

    /// RFC 7231 IMF-fixdate (`Last-Modified`).
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
