import Tensors
/// The validated header of a safetensors file.
///
/// Format (huggingface/safetensors `README.md`):
///
///     [8 bytes: N, little-endian u64][N bytes: UTF-8 JSON header, may end in spaces][data buffer]
///
/// The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` with
/// offsets relative to the data buffer, plus an optional `"__metadata__"` object of strings.
/// A valid header: N ≤ 100 MB (the Rust crate's `MAX_HEADER_SIZE`) and `8 + N` ≤ file size; JSON
/// object; no duplicate names; known dtypes; each entry exactly those three keys with integers
/// ≥ 0; and, sorted by offset, tensors tile the data buffer from 0 to its end without gaps or
/// overlaps, each spanning exactly `numel × dtype size` bytes (as `Metadata::validate` checks).
struct SafetensorsHeader {
    struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        /// Byte range within the data buffer (which starts at `dataStart` in the file).
        let range: Range<Int>
    }

    /// The 100 MB header limit of the Rust crate (`MAX_HEADER_SIZE = 100_000_000`).
    static let maximumLength: UInt64 = 100_000_000

    /// Entries in data-offset order (= file order; ties between empty tensors keep header order).
    let entries: [Entry]
    let metadata: [String: String]
    /// `8 + N`: where the data buffer begins in the file.
    let dataStart: Int

    // MARK: Length prefix

    /// Checks the 8-byte prefix of a `fileSize`-byte file and returns N.
    static func headerLength(prefix: UnsafeRawBufferPointer, fileSize: Int, source: String) throws(SafetensorsError) -> Int {
        guard fileSize >= 8, prefix.count >= 8 else { throw .fileTooSmall(path: source, size: fileSize) }
        let length = UInt64(littleEndian: prefix.loadUnaligned(as: UInt64.self))
        guard length <= maximumLength else { throw .headerTooLarge(path: source, length: length) }
        guard Int(length) <= fileSize - 8 else { throw .headerOutOfBounds(path: source, length: length, fileSize: fileSize) }
        return Int(length)
    }

    // MARK: Header text

    /// Parses and validates the N header bytes of a `fileSize`-byte file.
    init(headerBytes: [UInt8], fileSize: Int, source: String) throws(SafetensorsError) {
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw .headerNotUTF8(path: source) }
        let json: SafetensorsJSON
        do {
            json = try SafetensorsJSON.parse(headerBytes)
        } catch {
            throw .invalidJSON(path: source, reason: error.description)
        }
        guard case .object(let members) = json else { throw .headerNotObject(path: source) }

        var seen = Set<String>()
        var metadata: [String: String]?
        var entries: [Entry] = []
        for (key, value) in members {
            if key == "__metadata__" {
                guard metadata == nil else { throw .invalidMetadata(path: source, reason: "__metadata__ appears twice") }
                metadata = try Self.metadata(value, source: source)
                continue
            }
            guard seen.insert(key).inserted else { throw .duplicateName(path: source, name: key) }
            entries.append(try Self.entry(name: key, value, source: source))
        }
        dataStart = 8 + headerBytes.count
        self.metadata = metadata ?? [:]
        self.entries = try Self.checkLayout(entries, dataSize: fileSize - dataStart, source: source)
    }

    private static func metadata(_ value: SafetensorsJSON, source: String) throws(SafetensorsError) -> [String: String] {
        guard case .object(let members) = value else {
            throw .invalidMetadata(path: source, reason: "expected an object of strings, found \(value.typeName)")
        }
        var result: [String: String] = [:]
        for (key, item) in members {
            guard case .string(let text) = item else {
                throw .invalidMetadata(path: source, reason: "value of \"\(key)\" is \(item.typeName), not a string")
            }
            guard result.updateValue(text, forKey: key) == nil else {
                throw .invalidMetadata(path: source, reason: "key \"\(key)\" appears twice")
            }
        }
        return result
    }

    private static func entry(name: String, _ value: SafetensorsJSON, source: String) throws(SafetensorsError) -> Entry {
        func invalid(_ reason: String) -> SafetensorsError { .invalidEntry(path: source, tensor: name, reason: reason) }
        guard case .object(let members) = value else { throw invalid("expected an object, found \(value.typeName)") }
        let keys = members.map(\.key)
        guard keys.count == 3, Set(keys) == ["dtype", "shape", "data_offsets"] else {
            throw invalid("expected exactly the keys dtype, shape, data_offsets; found \(keys.joined(separator: ", "))")
        }
        let fields = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })

        guard case .string(let dtypeName)? = fields["dtype"] else { throw invalid("dtype must be a string") }
        guard let dtype = DType(safetensorsName: dtypeName) else {
            throw .unknownDType(path: source, tensor: name, dtype: dtypeName)
        }
        guard case .array(let dims)? = fields["shape"] else { throw invalid("shape must be an array") }
        var shape: [Int] = []
        for dim in dims {
            guard let n = dim.integer, n >= 0 else { throw invalid("shape holds \(dim.typeName), not an integer ≥ 0") }
            shape.append(n)
        }
        guard case .array(let offsets)? = fields["data_offsets"], offsets.count == 2 else {
            throw invalid("data_offsets must be an array of two integers")
        }
        var bounds: [Int] = []
        for offset in offsets {
            guard let n = offset.integer, n >= 0 else { throw invalid("data_offsets holds \(offset.typeName), not an integer ≥ 0") }
            bounds.append(n)
        }
        guard bounds[0] <= bounds[1] else {
            throw .invalidDataOffsets(path: source, tensor: name, start: bounds[0], end: bounds[1])
        }
        var byteCount = dtype.byteSize
        for dim in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw .shapeTooLarge(path: source, tensor: name, shape: shape) }
            byteCount = product
        }
        guard bounds[1] - bounds[0] == byteCount else {
            throw .byteLengthMismatch(path: source, tensor: name, expected: byteCount, actual: bounds[1] - bounds[0])
        }
        return Entry(name: name, dtype: dtype, shape: shape, range: bounds[0]..<bounds[1])
    }

    /// Sorted by offset, the tensors must tile `0..<dataSize` exactly.
    private static func checkLayout(_ entries: [Entry], dataSize: Int, source: String) throws(SafetensorsError) -> [Entry] {
        let sorted = entries.enumerated().sorted {
            ($0.element.range.lowerBound, $0.element.range.upperBound, $0.offset)
                < ($1.element.range.lowerBound, $1.element.range.upperBound, $1.offset)
        }.map(\.element)
        var end = 0
        for entry in sorted {
            guard entry.range.lowerBound == end else {
                throw .offsetsNotContiguous(path: source, tensor: entry.name, expected: end, found: entry.range.lowerBound)
            }
            guard entry.range.upperBound <= dataSize else {
                throw .dataOutOfBounds(path: source, tensor: entry.name, end: entry.range.upperBound, available: dataSize)
            }
            end = entry.range.upperBound
        }
        guard end == dataSize else { throw .bufferNotCovered(path: source, covered: end, available: dataSize) }
        return sorted
    }
}
