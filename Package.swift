// swift-tools-version:6.2
// ConceptRegistry — a concept registry and asset store for Custom Diffusion.
//
// Modules follow the data flow (see ../shared/docs/DESIGN.md §2):
//   C libraries (CBLAS, CLAPACKE, CZstd; CKernels is our own packed linear-layer kernel)
//   → Tensors (tensor types, fp16/bf16, BLAS/LAPACK helpers)
//   → TensorFormats (safetensors, torch zip checkpoints)
//   → TextEncoder (CLIP tokenizer and text model)
//   → CustomDiffusion (compression, merge solve)
//   → Registry (store, catalog, base models, concepts, captions, export)
//   → cli (the `concepts` executable)
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
        .library(name: "Registry", targets: ["Registry"]),
        .library(name: "RegistryServer", targets: ["RegistryServer"]),
        .library(name: "RegistryClient", targets: ["RegistryClient"]),
        .library(name: "RegistryS3", targets: ["RegistryS3"]),
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
            dependencies: ["Tensors", "TensorFormats", "TextEncoder"]
        ),
        .target(
            name: "Registry",
            dependencies: [
                "Tensors", "TensorFormats", "TextEncoder", "CustomDiffusion", "RegistrySchema", "CZstd",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Diffusion sampling: torch's seeded CPU generator, diffusers' schedulers, classifier-free guidance.
        .target(name: "Sampling"),
        // Text-to-image: a base from the store, concepts applied, the denoising loop, PNG output.
        .target(
            name: "Generation",
            dependencies: ["Tensors", "TensorFormats", "TextEncoder", "CustomDiffusion", "Registry", "Sampling", "DiffusionModels", "CPNG"]
        ),
        // The catalog's numbered SQL migrations (`schema/migrations/NNNN_name.sql`), shipped as resources.
        .target(name: "RegistrySchema", path: "schema", resources: [.copy("migrations")]),

        // MARK: The service and its client
        // `concepts serve`: API v1 (openapi.yaml), content-addressed files, tokens, metrics, the HTML page.
        .target(
            name: "RegistryServer",
            dependencies: [
                "Registry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
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
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // S3-compatible blob storage for the store (issue 12): SigV4 on swift-crypto, S3 REST over async-http-client.
        .target(
            name: "RegistryS3",
            dependencies: [
                "Registry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // MARK: The `concepts` executable
        .executableTarget(
            name: "concepts",
            dependencies: [
                "Tensors", "TensorFormats", "TextEncoder", "CustomDiffusion", "Registry", "Sampling", "Generation",
                "RegistryServer", "RegistryClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "cli"
        ),
        // Benchmarks (`make bench`): prints JSON figures; not part of the tests.
        .executableTarget(
            name: "concepts-bench",
            dependencies: ["Tensors", "TensorFormats", "TextEncoder", "CustomDiffusion", "Registry", "RegistryS3", "DiffusionModels", "CBLAS", "CLAPACKE", "CKernels"],
            path: "bench/Sources"
        ),

        // MARK: Tests
        // Fixtures are read from the source tree (`fixtures/`), located from #filePath.
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "TensorFormatsTests", dependencies: ["TensorFormats"]),
        .testTarget(name: "TextEncoderTests", dependencies: ["TextEncoder"]),
        .testTarget(name: "CustomDiffusionTests", dependencies: ["CustomDiffusion"]),
        .testTarget(name: "DiffusionModelsTests", dependencies: ["DiffusionModels", "TensorFormats"]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "RegistryS3", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling"]),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "Sampling", "Registry", "CustomDiffusion", "DiffusionModels", "TensorFormats", "Tensors"]),
        .testTarget(name: "CLITests", dependencies: ["concepts", "TensorFormats", "TextEncoder"]),
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
                "Registry", "RegistryServer", "RegistryClient", "concepts",
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
