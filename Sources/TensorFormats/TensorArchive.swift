import Tensors
/// The tensors of one file (or of a sharded set read as one), in file order, with the file's
/// string metadata (safetensors `__metadata__`; empty for torch checkpoints).
public struct TensorArchive: Sendable {
    public enum Format: String, Sendable { case safetensors, torch }

    public var format: Format
    /// Names in file order; nested torch dicts are flattened with `.` (`state_dict.model.…`).
    public var tensors: [(name: String, tensor: RawTensor)]
    public var metadata: [String: String]

    public init(format: Format, tensors: [(name: String, tensor: RawTensor)], metadata: [String: String] = [:]) {
        self.format = format
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> RawTensor? { tensors.first { $0.name == name }?.tensor }

    /// Tensors by name (names are unique within an archive).
    public var byName: [String: RawTensor] { Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a }) }
}
