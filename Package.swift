// swift-tools-version:6.2
// ConceptRegistry — a concept registry and asset store for Custom Diffusion.
//
// Modules follow the data flow (docs/STORAGE.md §1; the method is docs/METHOD.md):
//   C libraries (CBLAS, CLAPACKE, CZstd, CPNG; CKernels is our own kernels)
//   → Tensors (tensor types, fp16/bf16, BLAS/LAPACK helpers)
//   → TensorFormats (safetensors, torch zip checkpoints)
//   → TextEncoder (CLIP tokenizer and text model)
//   → CustomDiffusion (the method: trainer outputs, delta compression, target and regularization
//     features through the text encoder, the composition problem and its closed-form solve)
//     (→ CaptionIndex: caption files, embeddings and the scan index of a caption set; Tensors only)
//   → Registry (store, catalog, base models, concepts, captions, export: stores and fetches)
//   → cli (the `concepts` executable)
// Beside them: DiffusionModels, Sampling and Generation (text-to-image), RegistryServer and
// RegistryClient (the service), and TestSupport (the tests' package-root lookup).
import PackageDescription

let package = Package(
    name: "ConceptRegistry",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "concepts", targets: ["concepts"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "TensorFormats", targets: ["TensorFormats"]),
        .library(name: "TextEncoder", targets: ["TextEncoder"]),
        .library(name: "CustomDiffusion", targets: ["CustomDiffusion"]),
        .library(name: "DiffusionModels", targets: ["DiffusionModels"]),
        .library(name: "CaptionIndex", targets: ["CaptionIndex"]),
        .library(name: "Registry", targets: ["Registry"]),
        .library(name: "RegistryPostgres", targets: ["RegistryPostgres"]),
        .library(name: "RegistryServer", targets: ["RegistryServer"]),
        .library(name: "RegistryClient", targets: ["RegistryClient"]),
        .library(name: "RegistryS3", targets: ["RegistryS3"]),
        .library(name: "StoreBackends", targets: ["StoreBackends"]),
        .library(name: "Sampling", targets: ["Sampling"]),
        .library(name: "Generation", targets: ["Generation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The service (`concepts serve`) and its client (`concepts pull`).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // The PostgreSQL catalog (issue 12).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),  // postgres-nio's TLS (sslmode=require)
    ],
    targets: [
        // MARK: C libraries (Debian: libopenblas-dev, liblapacke-dev, libzstd-dev)
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CLAPACKE", path: "Sources/CLAPACKE"),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),  // libpng-dev
        // Our own AVX-512 kernel for the text encoder's few-row linear layers (packed weights).
        .target(name: "CKernels"),

        // MARK: Library modules
        .target(
            name: "Tensors",
            dependencies: ["CBLAS", "CLAPACKE"]
        ),
        .target(
            name: "TensorFormats",
            dependencies: ["Tensors"]
        ),
        .target(
            name: "TextEncoder",
            dependencies: ["Tensors", "TensorFormats", "CKernels"],
            // CLIP's BPE merges (the same file as fixtures/clip/merges.txt): the tokenizer of bases without
            // tokenizer files (CompVis SD 1.x single files).
            resources: [.copy("Resources/clip-merges.txt")]
        ),
        // Stable Diffusion's UNet and VAE decoder (generation), on OpenBLAS and CKernels.
        .target(
            name: "DiffusionModels",
            dependencies: ["Tensors", "TensorFormats", "CKernels", "CBLAS"]
        ),
        .target(
            name: "CustomDiffusion",
            dependencies: [
                "Tensors", "TensorFormats", "TextEncoder",
                .product(name: "Crypto", package: "swift-crypto"),  // the target rows' prefix keys (SHA-256)
            ]
        ),
        // Caption files, embeddings and the RaBitQ scan index of a caption set (no database: the store
        // feeds it rows).
        .target(
            name: "CaptionIndex",
            dependencies: ["Tensors"]
        ),
        .target(
            name: "Registry",
            dependencies: [
                "Tensors", "TensorFormats", "TextEncoder", "CustomDiffusion", "CaptionIndex", "RegistrySchema", "CZstd",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The shipped default regularization captions, embedded in the binary.
            resources: [.embedInCode("Resources/default-regularization-captions.txt")]
        ),
        // Diffusion sampling: torch's seeded CPU generator, diffusers' schedulers, classifier-free guidance.
        .target(name: "Sampling"),
        // Text-to-image: a base from the store, concepts applied, the denoising loop, PNG output.
        .target(
            name: "Generation",
            dependencies: ["Tensors", "TextEncoder", "CustomDiffusion", "Registry", "Sampling", "DiffusionModels", "CPNG"]
        ),
        // The catalog's numbered SQL migrations (`schema/migrations/NNNN_name.sql` for SQLite,
        // `schema/postgres/NNNN_name.sql` for PostgreSQL), shipped as resources.
        .target(name: "RegistrySchema", path: "schema", resources: [.copy("migrations"), .copy("postgres")]),
        // The PostgreSQL catalog (issue 12): `PostgresCatalog`, a synchronous `Catalog` over postgres-nio.
        .target(
            name: "RegistryPostgres",
            dependencies: [
                "Registry", "RegistrySchema",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: The service and its client
        // `concepts serve`: API v1 (openapi.yaml), content-addressed files, tokens, metrics, the HTML page.
        .target(
            name: "RegistryServer",
            dependencies: [
                "Registry", "CaptionIndex",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // Embedded in the binary (tracked by the build like sources; no bundle lookup at run time).
            resources: [
                .embedInCode("Resources/openapi.yaml"),
                .embedInCode("Resources/templates/head.mustache"), .embedInCode("Resources/templates/foot.mustache"),
                .embedInCode("Resources/templates/index.mustache"), .embedInCode("Resources/templates/concept.mustache"),
            ]
        ),
        // `concepts pull`: manifests, ranged downloads with resume, SHA-256 checks, the local cache.
        .target(
            name: "RegistryClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // S3-compatible blob storage for the store (issue 12): SigV4 on swift-crypto, S3 REST over async-http-client.
        .target(
            name: "RegistryS3",
            dependencies: [
                "Registry", "Tensors",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // `--catalog`/`--blobs` (CLI.md "Backends"): a store location parsed and opened on SQLite or
        // PostgreSQL and a folder or S3; `store copy` between any two.
        .target(
            name: "StoreBackends",
            dependencies: ["Registry", "RegistryPostgres", "RegistryS3"]
        ),

        // MARK: The `concepts` executable
        .executableTarget(
            name: "concepts",
            dependencies: [
                "Tensors", "TensorFormats", "TextEncoder", "CustomDiffusion", "CaptionIndex", "Registry", "Sampling", "Generation",
                "RegistryServer", "RegistryClient", "StoreBackends",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "cli"
        ),
        // Benchmarks (`make bench`): prints JSON figures; not part of the tests.
        .executableTarget(
            name: "concepts-bench",
            dependencies: ["Tensors", "TensorFormats", "TextEncoder", "CustomDiffusion", "CaptionIndex", "Registry", "RegistryS3", "RegistryPostgres", "StoreBackends", "DiffusionModels", "CBLAS", "CLAPACKE", "CKernels"],
            path: "bench/Sources"
        ),

        // MARK: Tests
        // Fixtures are read from the source tree (`fixtures/`): `TestSupport` locates the package root
        // from its own #filePath, once for every test target.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["TestSupport", "Tensors"]),
        .testTarget(name: "TensorFormatsTests", dependencies: ["TestSupport", "TensorFormats"]),
        .testTarget(name: "TextEncoderTests", dependencies: ["TestSupport", "TextEncoder"]),
        .testTarget(name: "CustomDiffusionTests", dependencies: ["TestSupport", "CustomDiffusion"]),
        .testTarget(name: "DiffusionModelsTests", dependencies: ["TestSupport", "DiffusionModels", "TensorFormats"]),
        .testTarget(name: "CaptionIndexTests", dependencies: ["TestSupport", "CaptionIndex"]),
        .testTarget(name: "RegistryTests", dependencies: ["TestSupport", "Registry", "RegistryS3", "RegistryPostgres", "CaptionIndex"]),
        .testTarget(name: "RegistryPostgresTests", dependencies: ["TestSupport", "RegistryPostgres", "Registry", "RegistrySchema"]),
        .testTarget(name: "SamplingTests", dependencies: ["TestSupport", "Sampling"]),
        .testTarget(name: "GenerationTests", dependencies: ["TestSupport", "Generation", "Sampling", "Registry", "CustomDiffusion", "DiffusionModels", "TensorFormats", "Tensors"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "concepts", "TensorFormats", "TextEncoder", "RegistryPostgres"]),
        .testTarget(
            name: "RegistryS3Tests",
            dependencies: [
                "Registry", "RegistryS3",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "TestSupport", "Registry", "RegistryServer", "RegistryClient", "concepts",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Builds stay warning-free (`swift build -c release 2>&1 | grep warning:` prints nothing). With
// CONCEPTS_STRICT_WARNINGS=1 a warning in one of our Swift targets is an error (opt-in, so that a
// merge bringing a warning does not stop everyone's build; turn it on in CI once main is clean).
if Context.environment["CONCEPTS_STRICT_WARNINGS"] == "1" {
    for target in package.targets where target.type != .system {
        target.swiftSettings = (target.swiftSettings ?? []) + [.treatAllWarnings(as: .error)]
    }
}
