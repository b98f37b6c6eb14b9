import Foundation
import TestSupport

/// fixtures/sampling (written by fixtures/generate_sampling.py).
enum SamplingFixtures {
    static let directory = fixtureURL("sampling")

    struct RandnIndex: Decodable {
        struct Draw: Decodable { let shape: [Int]; let offset: Int; let count: Int }
        struct Case: Decodable { let seed: UInt64; let draws: [Draw] }
        let torch: String
        let kernels: [String: [Case]]
    }

    static func randn() throws -> (RandnIndex, [Float]) {
        let index = try JSONDecoder().decode(RandnIndex.self, from: Data(contentsOf: directory.appendingPathComponent("randn.json")))
        let data = try Data(contentsOf: directory.appendingPathComponent("randn.bin"))
        return (index, floats(data))
    }

    static func floats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    struct SchedulerGoldens: Decodable {
        struct Step: Decodable {
            let model_input: String
            let model_output: String
            let prev_sample: String
        }
        struct Case: Decodable {
            let scheduler: String
            let config: [String: JSONValue]
            let steps: Int
            let eta: Double
            let seed: UInt64
            let shape: [Int]
            let timesteps: [Double]
            let init_noise_sigma: Double
            let sigmas: [Double]?
            let latents: String
            let trajectory: [Step]
        }
        let base_config: [String: JSONValue]
        let cases: [Case]
    }

    static func schedulers() throws -> SchedulerGoldens {
        try JSONDecoder().decode(SchedulerGoldens.self, from: Data(contentsOf: directory.appendingPathComponent("schedulers.json")))
    }

    static func decode(_ base64: String) -> [Float] { floats(Data(base64Encoded: base64) ?? Data()) }
}

/// A JSON scalar (the config overrides), re-encodable into a scheduler_config.json.
enum JSONValue: Decodable, Encodable {
    case string(String), number(Double), bool(Bool), null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else { self = .string(try c.decode(String.self)) }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { try c.encode(Int(n)) } else { try c.encode(n) }
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        }
    }
}
