import Foundation
import Testing
@testable import RegistryS3

/// Known answers published by AWS.
///
/// - The generic SigV4 test suite ("aws-sig-v4-test-suite", the cases as kept in
///   awslabs/aws-c-auth `tests/aws-signing-test-suite/v4/<case>/header-signed-request.txt`):
///   credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830T123600Z,
///   us-east-1, service `service`, host example.amazonaws.com.
/// - The S3 API reference, "Signature Calculations for the Authorization Header: Transferring
///   Payload in a Single Chunk", section "Examples: Signature Calculations": AKIAIOSFODNN7EXAMPLE /
///   wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, examplebucket, 20130524T000000Z, us-east-1, s3.
///
/// Exact string equality: any change to encoding, sorting, trimming or key derivation changes the hex.
@Suite("SigV4 known answers")
struct SigV4SignerTests {
    static let suiteSigner = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    static let suiteDate = "20150830T123600Z"

    static let s3Signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3")
    static let s3Date = "20130524T000000Z"

    struct SuiteCase: Sendable, CustomTestStringConvertible {
        let name: String
        let path: String
        let query: [(String, String)]
        let extraHeaders: [(String, String)]
        let signedHeaders: String
        let signature: String
        var testDescription: String { name }
    }

    static let suiteCases: [SuiteCase] = [
        SuiteCase(name: "get-vanilla", path: "/", query: [], extraHeaders: [], signedHeaders: "host;x-amz-date",
                  signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        SuiteCase(name: "get-vanilla-query-order-key", path: "/", query: [("Param1", "value2"), ("Param1", "Value1")], extraHeaders: [],
                  signedHeaders: "host;x-amz-date", signature: "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
        SuiteCase(name: "get-vanilla-query-order-key-case", path: "/", query: [("Param2", "value2"), ("Param1", "value1")], extraHeaders: [],
                  signedHeaders: "host;x-amz-date", signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        SuiteCase(name: "get-vanilla-empty-query-key", path: "/", query: [("Param1", "value1")], extraHeaders: [],
                  signedHeaders: "host;x-amz-date", signature: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
        SuiteCase(name: "get-vanilla-query-unreserved", path: "/",
                  query: [("-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")],
                  extraHeaders: [], signedHeaders: "host;x-amz-date", signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
        SuiteCase(name: "get-vanilla-utf8-query", path: "/", query: [("\u{1234}", "bar")], extraHeaders: [],
                  signedHeaders: "host;x-amz-date", signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
        SuiteCase(name: "get-unreserved", path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", query: [], extraHeaders: [],
                  signedHeaders: "host;x-amz-date", signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        SuiteCase(name: "get-utf8", path: "/\u{1234}", query: [], extraHeaders: [],
                  signedHeaders: "host;x-amz-date", signature: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        SuiteCase(name: "get-header-value-trim", path: "/", query: [], extraHeaders: [("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
                  signedHeaders: "host;my-header1;my-header2;x-amz-date", signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    ]

    @Test("aws-sig-v4-test-suite GET cases", arguments: suiteCases)
    func suite(_ c: SuiteCase) {
        let request = SigV4Signer.Request(
            method: "GET", path: c.path, query: c.query,
            headers: [("Host", "example.amazonaws.com")] + c.extraHeaders + [("X-Amz-Date", Self.suiteDate)],
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(Self.suiteSigner.authorization(request, amzDate: Self.suiteDate)
            == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(c.signedHeaders), Signature=\(c.signature)")
    }

    @Test("aws-sig-v4-test-suite post-x-www-form-urlencoded: canonical request, string to sign, signature")
    func postForm() {
        let body = Data("Param1=value1".utf8)
        let request = SigV4Signer.Request(
            method: "POST", path: "/",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Host", "example.amazonaws.com"), ("X-Amz-Date", Self.suiteDate)],
            payloadHash: SigV4Signer.payloadHash(body))
        #expect(Self.suiteSigner.canonicalRequest(request) == """
            POST
            /

            content-type:application/x-www-form-urlencoded
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            content-type;host;x-amz-date
            9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
            """)
        #expect(Self.suiteSigner.stringToSign(request, amzDate: Self.suiteDate) == """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281
            """)
        #expect(Self.suiteSigner.signature(request, amzDate: Self.suiteDate) == "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
    }

    @Test("aws-sig-v4-test-suite get-vanilla-with-session-token: the token is a signed header")
    func sessionToken() throws {
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: token),
            region: "us-east-1", service: "service")
        let request = SigV4Signer.Request(
            method: "GET", path: "/",
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", Self.suiteDate), ("X-Amz-Security-Token", token)],
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(signer.signature(request, amzDate: Self.suiteDate) == "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8")
    }

    // MARK: S3 API reference examples

    private func s3Request(_ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
                           payloadHash: String = SigV4Signer.emptyPayloadHash) -> SigV4Signer.Request {
        SigV4Signer.Request(method: method, path: path, query: query,
                            headers: [("Host", "examplebucket.s3.amazonaws.com")] + headers
                                + [("x-amz-content-sha256", payloadHash), ("x-amz-date", Self.s3Date)],
                            payloadHash: payloadHash)
    }

    @Test("S3 example GET Object (Range: bytes=0-9)")
    func s3GetObject() {
        let request = s3Request("GET", "/test.txt", headers: [("Range", "bytes=0-9")])
        #expect(Self.s3Signer.canonicalRequest(request) == """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(Self.s3Signer.stringToSign(request, amzDate: Self.s3Date).hasSuffix("\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"))
        #expect(Self.s3Signer.authorization(request, amzDate: Self.s3Date)
            == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test("S3 example PUT Object (test$file.text: `$` is encoded)")
    func s3PutObject() {
        let body = Data("Welcome to Amazon S3.".utf8)
        let hash = SigV4Signer.payloadHash(body)
        #expect(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let request = s3Request("PUT", "/test$file.text",
                                headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")], payloadHash: hash)
        #expect(Self.s3Signer.canonicalRequest(request).hasPrefix("PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"))
        #expect(Self.s3Signer.stringToSign(request, amzDate: Self.s3Date).hasSuffix("\n9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"))
        #expect(Self.s3Signer.signature(request, amzDate: Self.s3Date) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test("S3 example GET Bucket Lifecycle (?lifecycle signs as lifecycle=)")
    func s3Lifecycle() {
        let request = s3Request("GET", "/", query: [("lifecycle", "")])
        #expect(Self.s3Signer.canonicalRequest(request).hasPrefix("GET\n/\nlifecycle=\nhost:"))
        #expect(Self.s3Signer.stringToSign(request, amzDate: Self.s3Date).hasSuffix("\n9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca"))
        #expect(Self.s3Signer.signature(request, amzDate: Self.s3Date) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test("S3 example Get Bucket (List Objects), parameters given out of order")
    func s3ListObjects() {
        let request = s3Request("GET", "/", query: [("prefix", "J"), ("max-keys", "2")])
        #expect(Self.s3Signer.canonicalRequest(request).hasPrefix("GET\n/\nmax-keys=2&prefix=J\nhost:"))
        #expect(Self.s3Signer.stringToSign(request, amzDate: Self.s3Date).hasSuffix("\ndf57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7"))
        #expect(Self.s3Signer.signature(request, amzDate: Self.s3Date) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test("sign() adds the date, the payload hash, the token and a matching Authorization")
    func signAddsHeaders() throws {
        let date = try #require(ISO8601DateFormatter().date(from: "2013-05-24T00:00:00Z"))
        let request = SigV4Signer.Request(method: "GET", path: "/test.txt",
                                          headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
                                          payloadHash: SigV4Signer.emptyPayloadHash)
        let headers = Self.s3Signer.sign(request, date: date)
        let byName = Dictionary(headers.map { ($0.0.lowercased(), $0.1) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["x-amz-date"] == "20130524T000000Z")
        #expect(byName["x-amz-content-sha256"] == SigV4Signer.emptyPayloadHash)
        #expect(byName["x-amz-security-token"] == nil)
        // The same request as the published GET Object example, so the same signature.
        #expect(byName["authorization"]?.hasSuffix("Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") == true)
    }

    @Test("UriEncode keeps only unreserved characters (and / in paths)")
    func uriEncode() {
        #expect(SigV4Signer.uriEncode("a b+c/d=e&f~g", keepSlash: false) == "a%20b%2Bc%2Fd%3De%26f~g")
        #expect(SigV4Signer.uriEncode("/prefix/ab/c d", keepSlash: true) == "/prefix/ab/c%20d")
        #expect(SigV4Signer.uriEncode("é", keepSlash: false) == "%C3%A9")
    }
}
