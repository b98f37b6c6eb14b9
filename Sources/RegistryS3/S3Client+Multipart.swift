import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Multipart upload (S3 API reference: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
/// AbortMultipartUpload, ListMultipartUploads). Each part's payload is signed with its SHA-256, so
/// S3 refuses a corrupted part; the object appears only when CompleteMultipartUpload succeeds.
extension S3Client {
    /// An upload that was started and not completed or aborted.
    public struct PendingUpload: Sendable, Equatable {
        public let key: String
        public let uploadID: String
        public let initiated: Date
    }

    public func createMultipartUpload(key: String) -> EventLoopFuture<String> {
        send(.POST, key: key, query: [("uploads", "")]).flatMapThrowing { response in
            guard let id = S3XML.value("UploadId", in: response.text), !id.isEmpty else {
                throw S3Error.malformedResponse(operation: "CreateMultipartUpload \(key)", reason: "no UploadId")
            }
            return id
        }
    }

    /// Uploads part `number` (1-based); returns its ETag.
    public func uploadPart(key: String, uploadID: String, number: Int, body: NIOCore.ByteBuffer) -> EventLoopFuture<String> {
        send(.PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], body: body).flatMapThrowing { response in
            guard let eTag = response.headers.first(name: "etag") else {
                throw S3Error.malformedResponse(operation: "UploadPart \(key) #\(number)", reason: "no ETag")
            }
            return eTag
        }
    }

    public func completeMultipartUpload(key: String, uploadID: String, eTags: [String]) -> EventLoopFuture<Void> {
        let parts = eTags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(S3XML.escape($0.element))</ETag></Part>" }
        let xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(parts.joined())</CompleteMultipartUpload>"
        return send(.POST, key: key, query: [("uploadId", uploadID)], headers: [("content-type", "application/xml")],
                    body: NIOCore.ByteBuffer(string: xml)).flatMapThrowing { response in
            // CompleteMultipartUpload can answer 200 with an <Error> body (documented): treat it as failed.
            let text = response.text
            if text.contains("<Error>") {
                throw S3Error.http(method: "POST", key: key, status: response.status,
                                   code: S3XML.value("Code", in: text) ?? "", message: S3XML.value("Message", in: text) ?? "")
            }
        }
    }

    public func abortMultipartUpload(key: String, uploadID: String) -> EventLoopFuture<Void> {
        send(.DELETE, key: key, query: [("uploadId", uploadID)], accept: [200, 204, 404]).map { _ in () }
    }

    /// Uploads not completed nor aborted under `prefix` (one page of up to 1000; enough for leftovers).
    public func listMultipartUploads(prefix: String) -> EventLoopFuture<[PendingUpload]> {
        send(.GET, key: nil, query: [("uploads", ""), ("prefix", prefix)]).flatMapThrowing { response in
            try S3XML.blocks("Upload", in: response.text).map { block in
                guard let key = S3XML.value("Key", in: block), let id = S3XML.value("UploadId", in: block),
                      let initiated = S3XML.value("Initiated", in: block).flatMap(S3XML.date) else {
                    throw S3Error.malformedResponse(operation: "ListMultipartUploads", reason: "an Upload without Key, UploadId or Initiated")
                }
                return PendingUpload(key: key, uploadID: id, initiated: initiated)
            }
        }
    }

    /// Uploads `body` in parts of `configuration.partSize`, `configuration.concurrency` at a time,
    /// then completes the upload; aborts it when any part fails (synchronous).
    public func putObjectMultipart(key: String, body: NIOCore.ByteBuffer) throws {
        let partSize = max(1, configuration.partSize)
        let uploadID = try Self.wait(createMultipartUpload(key: key))
        let count = max(1, (body.readableBytes + partSize - 1) / partSize)
        var eTags = [String](repeating: "", count: count)
        do {
            var next = 0
            while next < count {
                let window = next..<min(count, next + max(1, configuration.concurrency))
                let futures = window.map { index -> EventLoopFuture<String> in
                    let start = index * partSize
                    let length = min(partSize, body.readableBytes - start)
                    let part = body.getSlice(at: body.readerIndex + start, length: length) ?? NIOCore.ByteBuffer()
                    return uploadPart(key: key, uploadID: uploadID, number: index + 1, body: part)
                }
                for (index, future) in zip(window, futures) { eTags[index] = try Self.wait(future) }
                next = window.upperBound
            }
            try Self.wait(completeMultipartUpload(key: key, uploadID: uploadID, eTags: eTags))
        } catch {
            _ = try? Self.wait(abortMultipartUpload(key: key, uploadID: uploadID))
            throw error
        }
    }
}
