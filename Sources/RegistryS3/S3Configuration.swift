import Foundation
import Registry

/// Where a bucket is and how its objects are addressed.
///
/// - Path style (`http://host:port/bucket/key`): used with an endpoint override (moto, MinIO,
///   other S3-compatible servers), where buckets are not DNS names.
/// - Virtual-host style (`https://bucket.s3.region.amazonaws.com/key`): AWS's default. A bucket
///   name with dots falls back to path style (its virtual host would not match the TLS certificate).
public struct S3Endpoint: Sendable, Equatable {
    public enum Addressing: String, Sendable { case path, virtualHost }

    public let scheme: String
    public let host: String
    public let port: Int?
    public let bucket: String
    public let addressing: Addressing

    public init(scheme: String, host: String, port: Int?, bucket: String, addressing: Addressing) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.bucket = bucket
        self.addressing = addressing
    }

    /// AWS's regional endpoint for `bucket`.
    public static func aws(bucket: String, region: String) -> S3Endpoint {
        if bucket.contains(".") {
            return S3Endpoint(scheme: "https", host: "s3.\(region).amazonaws.com", port: nil, bucket: bucket, addressing: .path)
        }
        return S3Endpoint(scheme: "https", host: "\(bucket).s3.\(region).amazonaws.com", port: nil, bucket: bucket, addressing: .virtualHost)
    }

    /// An endpoint override (`http(s)://host[:port]`), path style.
    public static func override(_ url: String, bucket: String) throws -> S3Endpoint {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty, components.path.isEmpty || components.path == "/" else {
            throw S3Error.invalidEndpoint(url)
        }
        return S3Endpoint(scheme: scheme, host: host, port: components.port, bucket: bucket, addressing: .path)
    }

    /// The `Host` header: the host, with the port when it is not the scheme's default.
    public var hostHeader: String {
        guard let port, port != (scheme == "https" ? 443 : 80) else { return host }
        return "\(host):\(port)"
    }

    /// The decoded request path of `key` (nil: the bucket itself), as signed.
    public func path(key: String?) -> String {
        switch addressing {
        case .path: return "/\(bucket)" + (key.map { "/\($0)" } ?? "")
        case .virtualHost: return "/" + (key ?? "")
        }
    }

    /// The request URL: encoded path and query, exactly as signed.
    public func url(key: String?, query: [(String, String)], queryKeepsSlash: Bool = false) -> String {
        var url = "\(scheme)://\(hostHeader)\(SigV4Signer.canonicalURI(path(key: key)))"
        if !query.isEmpty {
            url += "?" + query.map { name, value in
                let encoded = SigV4Signer.uriEncode(name, keepSlash: queryKeepsSlash)
                return value.isEmpty ? encoded : "\(encoded)=\(SigV4Signer.uriEncode(value, keepSlash: queryKeepsSlash))"
            }.joined(separator: "&")
        }
        return url
    }
}

/// Everything an `S3Client` needs: endpoint, region, credentials, and its retry and size policies.
public struct S3Configuration: Sendable {
    public var endpoint: S3Endpoint
    public var region: String
    public var credentials: AWSCredentials
    /// Attempts per request (the first included) on 5xx, 429 and connection errors.
    public var maxAttempts = 5
    /// Backoff before retry n (1-based): `baseDelay · 2^(n-1)`, at most `maxDelay`, with ±50 % jitter.
    public var baseDelay: TimeInterval = 0.2
    public var maxDelay: TimeInterval = 5
    public var connectTimeout: TimeInterval = 10
    /// Per request (one attempt), body included.
    public var requestTimeout: TimeInterval = 600
    /// Stored objects larger than this go up in parts (issue 12: blobs over 64 MiB).
    public var multipartThreshold = 64 << 20
    /// Part size of multipart uploads (S3's minimum is 5 MiB, except for the last part).
    public var partSize = 16 << 20
    /// Parts (and batch puts) in flight at once.
    public var concurrency = 4
    /// Keys per ListObjectsV2 page (S3's maximum is 1000).
    public var listPageSize = 1000
    /// A put that finds its blob older than this refreshes its date (`Registry.blobRefreshAge`).
    public var refreshAge: TimeInterval = blobRefreshAge
    /// moto compatibility (`CONCEPTS_S3_COMPAT=moto`): `/` in query values unencoded (see `SigV4Signer.queryKeepsSlash`).
    public var queryKeepsSlash = false

    public init(endpoint: S3Endpoint, region: String, credentials: AWSCredentials) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
    }

    /// From the usual AWS variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN` (optional), `AWS_REGION` or `AWS_DEFAULT_REGION` (default us-east-1),
    /// and the endpoint override `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` (path style);
    /// `CONCEPTS_S3_COMPAT=moto` for moto's signature check (see `queryKeepsSlash`).
    public init(bucket: String, environment: [String: String]) throws {
        func setting(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        guard let accessKey = setting("AWS_ACCESS_KEY_ID") else { throw S3Error.missingSetting("AWS_ACCESS_KEY_ID") }
        guard let secret = setting("AWS_SECRET_ACCESS_KEY") else { throw S3Error.missingSetting("AWS_SECRET_ACCESS_KEY") }
        let region = setting("AWS_REGION") ?? setting("AWS_DEFAULT_REGION") ?? "us-east-1"
        let endpoint = try (setting("AWS_ENDPOINT_URL_S3") ?? setting("AWS_ENDPOINT_URL")).map { try S3Endpoint.override($0, bucket: bucket) }
            ?? S3Endpoint.aws(bucket: bucket, region: region)
        self.init(endpoint: endpoint, region: region,
                  credentials: AWSCredentials(accessKeyID: accessKey, secretAccessKey: secret, sessionToken: setting("AWS_SESSION_TOKEN")))
        queryKeepsSlash = setting("CONCEPTS_S3_COMPAT") == "moto"
    }

    /// The backoff before retry `retry` (1-based), without jitter.
    public func backoff(retry: Int) -> TimeInterval {
        min(maxDelay, baseDelay * pow(2, Double(max(0, retry - 1))))
    }
}
