/// Element types met in tensor files, named as safetensors names them
/// (`F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL`).
///
/// Torch's storage classes map onto the same set (`DoubleStorage` = `F64`, `HalfStorage` = `F16`,
/// `BFloat16Storage` = `BF16`, `BoolStorage` = `BOOL`, …).
public enum DType: String, Sendable, CaseIterable, Codable {
    case float64 = "F64"
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int64 = "I64"
    case int32 = "I32"
    case int16 = "I16"
    case int8 = "I8"
    case uint8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// Whether the type holds floating-point values (and so can be converted to Float32 for compute).
    public var isFloatingPoint: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16: true
        default: false
        }
    }

    /// The safetensors spelling, e.g. `"BF16"`.
    public var safetensorsName: String { rawValue }

    /// Parses a safetensors dtype name; `nil` for names this project does not know.
    public init?(safetensorsName: String) { self.init(rawValue: safetensorsName) }
}
