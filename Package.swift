// swift-tools-version:6.0
// ConceptRegistry — a concept registry and asset store for Custom Diffusion.
//
// Modules follow the data flow (see ../shared/docs/DESIGN.md §2):
//   C libraries (CBLAS, CLAPACKE, CZstd)
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

        // MARK: Library modules
        .target(
            name: "Tensors",
            dependencies: ["CBLAS", "CLAPACKE"]
        ),
        .target(
            name: "TensorFormats",
            dependencies: ["Tensors"]
        ),

        // MARK: The `concepts` executable
        .executableTarget(
            name: "concepts",
            dependencies: [
                "Tensors", "TensorFormats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "cli"
        ),

        // MARK: Tests
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(
            name: "TensorFormatsTests",
            dependencies: ["TensorFormats"],
            resources: [.copy("../../fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
