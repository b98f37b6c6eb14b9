import ArgumentParser
import CustomDiffusion
import Logging
import Registry
import Sampling
import TextEncoder

/// An option whose value is one name of a fixed set (`--format`, `--kind`, `--layer`, `--scheduler`,
/// `--scope`, `--log-level`): parsed by ArgumentParser into a `cli` enum and then mapped to the
/// library's own type, so no string travels further with a silent fallback.
protocol ChoiceArgument: ExpressibleByArgument, CaseIterable, RawRepresentable<String> {}

extension ChoiceArgument {
    init?(argument: String) { self.init(rawValue: argument) }
    static var allValueStrings: [String] { allCases.map(\.rawValue) }

    /// For `@Option(transform:)`: parses like `init(argument:)` and names the flag in its error
    /// ("--format must be one of diffusers, lora, compvis, adobe"; exit 64 as every usage error).
    static func parser(flag: String) -> @Sendable (String) throws -> Self {
        { value in
            guard let choice = Self(rawValue: value) else {
                throw ValidationError("\(flag) must be one of \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return choice
        }
    }
}

/// `--format` of `export`, `compose` and `pull`.
enum ExportFormatChoice: String, ChoiceArgument {
    case diffusers, lora, compvis, adobe

    var format: ExportFormat {
        switch self {
        case .diffusers: .diffusers
        case .lora: .lora
        case .compvis: .compvis
        case .adobe: .adobe
        }
    }
}

/// `register --kind`.
enum ConceptKindChoice: String, ChoiceArgument {
    case object, style

    var kind: RegisterRequest.Kind {
        switch self {
        case .object: .object
        case .style: .style
        }
    }
}

/// `encode --layer`.
enum HiddenLayerChoice: String, ChoiceArgument {
    case last, penultimate

    var layer: HiddenLayer {
        switch self {
        case .last: .last
        case .penultimate: .penultimate
        }
    }
}

/// `generate --scheduler`.
enum SchedulerChoice: String, ChoiceArgument {
    case dpmSolverPlusPlus = "dpm++"
    case ddim, ddpm, euler

    var sampler: SamplerKind {
        switch self {
        case .dpmSolverPlusPlus: .dpmSolverPlusPlus
        case .ddim: .ddim
        case .ddpm: .ddpm
        case .euler: .euler
        }
    }
}

/// `token create --scope`.
enum TokenScopeChoice: String, ChoiceArgument {
    case read, write, admin

    var scope: TokenScope {
        switch self {
        case .read: .read
        case .write: .write
        case .admin: .admin
        }
    }
}

/// `serve --log-level` (swift-log's levels).
enum LogLevelChoice: String, ChoiceArgument {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}

/// `register --compress POLICY`: lossless, fp16, energy:R, rank:N or error:E, parsed by the library's
/// `CompressionPolicy(parsing:)`, whose message names what is wrong.
struct CompressionPolicyArgument: ExpressibleByArgument {
    let policy: CompressionPolicy

    init(_ policy: CompressionPolicy) { self.policy = policy }
    init?(argument: String) {
        guard let policy = try? CompressionPolicy(parsing: argument) else { return nil }
        self.policy = policy
    }

    var defaultValueDescription: String { policy.description }

    /// For `@Option(transform:)`: the library's parse error as a usage error.
    static func parse(_ value: String) throws -> CompressionPolicyArgument {
        do { return CompressionPolicyArgument(try CompressionPolicy(parsing: value)) } catch {
            throw ValidationError("--compress: \(error.localizedDescription)")
        }
    }
}
