import Foundation
import Registry
import Sampling

/// What the pipeline reads from a base's kept config files (the rest is for the models themselves):
/// `unet/config.json` (`in_channels`, `sample_size`), `vae/config.json` (`latent_channels`, `block_out_channels`:
/// the VAE downsamples by 2^(len − 1), diffusers' `vae_scale_factor`) and `scheduler/scheduler_config.json`.
public struct PipelineConfiguration: Sendable {
    struct UNetFields: Decodable {
        let inChannels: Int?
        let sampleSize: Int?
        enum CodingKeys: String, CodingKey { case inChannels = "in_channels", sampleSize = "sample_size" }
    }
    struct VAEFields: Decodable {
        let latentChannels: Int?
        let blockOutChannels: [Int]?
        enum CodingKeys: String, CodingKey { case latentChannels = "latent_channels", blockOutChannels = "block_out_channels" }
    }

    public let unetConfig: Data
    public let vaeConfig: Data
    public let scheduler: SchedulerConfiguration
    public let latentChannels: Int
    public let vaeScaleFactor: Int
    /// The UNet's native latent size (`sample_size`); the default image side is sampleSize · vaeScaleFactor.
    public let sampleSize: Int

    public static let unetConfigPath = "unet/config.json"
    public static let vaeConfigPath = "vae/config.json"
    public static let schedulerConfigPath = "scheduler/scheduler_config.json"

    /// Reads and checks the base's files and components; every problem is reported before any model is loaded.
    public static func load(store: Store, base: String) throws -> PipelineConfiguration {
        var missing: [String] = []
        func file(_ path: String) throws -> Data? {
            let data = try store.baseFile(base: base, path: path)
            if data == nil { missing.append(path) }
            return data
        }
        let unet = try file(unetConfigPath), vae = try file(vaeConfigPath), scheduler = try file(schedulerConfigPath)
        for component in ["unet", "vae", "text_encoder"] where try store.baseTensorNames(base: base, component: component).isEmpty {
            missing.append("\(component) weights")
        }
        guard missing.isEmpty, let unet, let vae, let scheduler else {
            throw GenerationError.baseIncomplete(base: base, missing: "no " + missing.joined(separator: ", ")
                + " (add the base from a diffusers pipeline folder with unet/, vae/, text_encoder/ and scheduler/)")
        }
        func decode<T: Decodable>(_ type: T.Type, _ data: Data, _ path: String) throws -> T {
            do { return try JSONDecoder().decode(type, from: data) } catch {
                throw GenerationError.invalidConfig(path: "\(base):\(path)", reason: "\(error)")
            }
        }
        let u = try decode(UNetFields.self, unet, unetConfigPath)
        let v = try decode(VAEFields.self, vae, vaeConfigPath)
        let schedulerConfiguration: SchedulerConfiguration
        do { schedulerConfiguration = try SchedulerConfiguration.decode(scheduler) } catch {
            throw GenerationError.invalidConfig(path: "\(base):\(schedulerConfigPath)", reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        let latent = v.latentChannels ?? 4
        guard (u.inChannels ?? 4) == latent else {
            throw GenerationError.invalidConfig(path: "\(base):\(unetConfigPath)", reason: "in_channels \(u.inChannels ?? 4) ≠ the VAE's latent_channels \(latent)")
        }
        let blocks = v.blockOutChannels?.count ?? 4
        guard blocks >= 1, blocks <= 8 else { throw GenerationError.invalidConfig(path: "\(base):\(vaeConfigPath)", reason: "block_out_channels has \(blocks) entries") }
        return PipelineConfiguration(unetConfig: unet, vaeConfig: vae, scheduler: schedulerConfiguration, latentChannels: latent,
                                     vaeScaleFactor: 1 << (blocks - 1), sampleSize: u.sampleSize ?? 64)
    }
}
