import Generation

/// The UNet/VAE implementation `generate` runs: the DiffusionModels module when the build has it.
enum GenerationBackend {
    #if canImport(DiffusionModels)
    static let current: any DiffusionBackend = DiffusionModelsBackend()
    #else
    static let current: any DiffusionBackend = UnavailableBackend()
    #endif
}
