import Generation

/// The UNet/VAE implementation `generate` runs.
enum GenerationBackend {
    static let current: any DiffusionBackend = DiffusionModelsBackend()
}
