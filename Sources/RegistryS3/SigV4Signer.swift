import Crypto
import Foundation

/// AWS credentials: an access key pair and, for temporary credentials, a session token.
public struct AWSCredentials: Sendable, Equatable {
    public let accessKeyID: String
    public let secretAccessKey: String
    public let sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// AWS Signature Version 4 with the `Authorization` header ("Signature Calculations for the
/// Authorization Header: Transferring Payload in a Single Chunk", S3 API reference; the generic
/// algorithm of the IAM user guide "Create a signed AWS API request"):
///
///     CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n HashedPayload
///     StringToSign     = "AWS4-HMAC-SHA256" \n AmzDate \n Scope \n Hex(SHA256(CanonicalRequest))
///     SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), service), "aws4_request")
///     Signature        = Hex(HMAC(SigningKey, StringToSign))
///
/// Paths are encoded once, as S3 wants (no double encoding, no dot-segment normalisation): each
/// byte except the unreserved `A–Z a–z 0–9 - _ . ~` (and `/` in paths) becomes `%XX` in upper-case hex.
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    /// Leaves `/` unencoded in query names and values (sent and signed). AWS and MinIO decode the
    /// query and re-encode it (`/` → `%2F`), so this must stay false for them; moto's signature
    /// check (5.x) rebuilds the canonical query from werkzeug's decoded URL, where `%2F` became `/`.
    public var queryKeepsSlash = false

    /// The hash of an empty payload (what GET, HEAD and DELETE sign).
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// One request to sign. `path` is the decoded path (e.g. `/bucket/prefix/ab/abcd…`); `query`
    /// holds decoded names and values (`("lifecycle", "")` for a bare `?lifecycle`); `headers` are
    /// all the headers to sign, including `host` and `x-amz-date` (names in any case).
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(String, String)]
        public var headers: [(String, String)]
        public var payloadHash: String

        public init(method: String, path: String, query: [(String, String)] = [], headers: [(String, String)], payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    // MARK: The steps

    /// `UriEncode` of the AWS documentation: unreserved characters kept, everything else `%XX`.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// The canonical URI: the encoded path (`/` when empty).
    public static func canonicalURI(_ path: String) -> String {
        path.isEmpty ? "/" : uriEncode(path, keepSlash: true)
    }

    /// The canonical query string: names and values encoded, sorted by name then value, joined with `&`.
    public static func canonicalQuery(_ query: [(String, String)], keepSlash: Bool = false) -> String {
        query.map { (uriEncode($0.0, keepSlash: keepSlash), uriEncode($0.1, keepSlash: keepSlash)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lower-cased names, sorted; values trimmed with inner runs of spaces collapsed; repeated names joined with `,`.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (canonical: String, signed: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let collapsed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name.lowercased(), default: []].append(collapsed.trimmingCharacters(in: .whitespaces))
        }
        let names = merged.keys.sorted()
        let canonical = names.map { "\($0):\(merged[$0, default: []].joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    public func canonicalRequest(_ request: Request) -> String {
        let headers = Self.canonicalHeaders(request.headers)
        return [request.method, Self.canonicalURI(request.path), Self.canonicalQuery(request.query, keepSlash: queryKeepsSlash),
                headers.canonical, headers.signed, request.payloadHash].joined(separator: "\n")
    }

    /// `yyyymmdd/region/service/aws4_request`.
    public func scope(amzDate: String) -> String { "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request" }

    public func stringToSign(_ request: Request, amzDate: String) -> String {
        let hashed = Self.hex(SHA256.hash(data: Data(canonicalRequest(request).utf8)))
        return ["AWS4-HMAC-SHA256", amzDate, scope(amzDate: amzDate), hashed].joined(separator: "\n")
    }

    public func signingKey(date yyyymmdd: some StringProtocol) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
        }
        let secret = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        return hmac(hmac(hmac(hmac(secret, String(yyyymmdd)), region), service), "aws4_request")
    }

    public func signature(_ request: Request, amzDate: String) -> String {
        let key = signingKey(date: amzDate.prefix(8))
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign(request, amzDate: amzDate).utf8), using: key))
    }

    /// The `Authorization` header value for `request` (whose headers must include `x-amz-date: amzDate`).
    public func authorization(_ request: Request, amzDate: String) -> String {
        let signed = Self.canonicalHeaders(request.headers).signed
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(amzDate: amzDate)), "
            + "SignedHeaders=\(signed), Signature=\(signature(request, amzDate: amzDate))"
    }

    // MARK: Signing a request

    /// Adds `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` (with a session token)
    /// and `authorization` to `request`'s headers; every header present is signed.
    public func sign(_ request: Request, date: Date) -> [(String, String)] {
        var request = request
        let amzDate = Self.amzDate(date)
        request.headers.append(("x-amz-date", amzDate))
        request.headers.append(("x-amz-content-sha256", request.payloadHash))
        if let token = credentials.sessionToken { request.headers.append(("x-amz-security-token", token)) }
        return request.headers + [("authorization", authorization(request, amzDate: amzDate))]
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Hex SHA-256 of a payload (the `x-amz-content-sha256` value).
    public static func payloadHash(_ bytes: UnsafeRawBufferPointer) -> String { hex(SHA256.hash(data: bytes)) }
    public static func payloadHash(_ data: Data) -> String { hex(SHA256.hash(data: data)) }
}
