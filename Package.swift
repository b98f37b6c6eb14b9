// swift-tools-version:6.0
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
        .library(name: "Sampling", targets: ["Sampling"]),
        .library(name: "Generation", targets: ["Generation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
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

        // MARK: The `concepts` executable
        .executableTarget(
            name: "concepts",
            dependencies: [
                "Tensors", "TensorFormats", "TextEncoder", "CustomDiffusion", "Registry", "Sampling", "Generation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "cli"
        ),
        // Benchmarks (`make bench`): prints JSON figures; not part of the tests.
        .executableTarget(
            name: "concepts-bench",
            dependencies: ["Tensors", "TensorFormats", "TextEncoder", "CustomDiffusion", "Registry", "DiffusionModels", "CBLAS", "CKernels"],
            path: "bench/Sources"
        ),

        // MARK: Tests
        // Fixtures are read from the source tree (`fixtures/`), located from #filePath.
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "TensorFormatsTests", dependencies: ["TensorFormats"]),
        .testTarget(name: "TextEncoderTests", dependencies: ["TextEncoder"]),
        .testTarget(name: "CustomDiffusionTests", dependencies: ["CustomDiffusion"]),
        .testTarget(name: "DiffusionModelsTests", dependencies: ["DiffusionModels", "TensorFormats"]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling"]),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "Sampling", "Registry", "CustomDiffusion", "DiffusionModels", "TensorFormats", "Tensors"]),
        .testTarget(name: "CLITests", dependencies: ["concepts", "TensorFormats", "TextEncoder"]),
    ],
    swiftLanguageModes: [.v6]
)
