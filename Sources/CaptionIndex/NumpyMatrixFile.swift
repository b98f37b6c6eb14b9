import Foundation
import Tensors

/// A 2-D NumPy `.npy` file of float16 or float32 rows (the layout of LAION's `text_emb_*.npy`),
/// memory-mapped and read row by row so that multi-GB files stream with flat memory.
///
/// Format (numpy.lib.format, versions 1.0–3.0): the magic `\x93NUMPY`, a major and minor version
/// byte, the header length (little-endian UInt16 for 1.0, UInt32 for 2.0/3.0), then an ASCII
/// (3.0: UTF-8) Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (R, D), }`
/// padded with spaces and a newline so the data starts on a 64-byte boundary; the data follows in
/// C order. Accepted: `descr` `<f2`/`<f4` (or `|`/`=` byte order on little-endian hosts),
/// `fortran_order` False, a 2-D shape; anything else is refused with the reason.
public struct NumpyMatrixFile: @unchecked Sendable {
    public enum ScalarType: String, Sendable { case float16 = "f2", float32 = "f4" }

    public let path: String
    public let rows: Int
    public let columns: Int
    public let scalarType: ScalarType
    /// `@unchecked Sendable`: the mapping is read-only.
    private let buffer: ByteBuffer
    private let dataOffset: Int

    public init(path: String) throws {
        self.path = path
        do { buffer = try MappedFile.map(path: path) } catch {
            throw CaptionError.io(path: path, reason: error.localizedDescription)
        }
        let header = try Self.parseHeader(buffer, path: path)
        (rows, columns, scalarType, dataOffset) = header
        let expected = dataOffset + rows * columns * (scalarType == .float16 ? 2 : 4)
        guard buffer.count == expected else {
            throw CaptionError.invalidNumpy(path: path, reason: "the file holds \(buffer.count - dataOffset) data bytes, the header promises \(expected - dataOffset)")
        }
    }

    /// Reads row `index` as Float32 into `target` (`columns` values).
    public func readRow(_ index: Int, into target: UnsafeMutableBufferPointer<Float>) {
        guard let base = buffer.baseAddress, index >= 0, index < rows, target.count >= columns else { return }
        switch scalarType {
        case .float32:
            let source = base + dataOffset + index * columns * 4
            for j in 0..<columns { target[j] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self))) }
        case .float16:
            let source = base + dataOffset + index * columns * 2
            for j in 0..<columns {
                target[j] = HalfPrecision.float(fromFloat16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self)))
            }
        }
    }

    /// Drops the pages of rows `range` from the resident set (streaming: memory stays flat).
    public func release(rows range: Range<Int>) {
        let size = columns * (scalarType == .float16 ? 2 : 4)
        let lower = dataOffset + range.lowerBound * size, upper = dataOffset + range.upperBound * size
        guard lower < upper, upper <= buffer.count else { return }
        buffer.slice(lower..<upper).releaseResidentPages()
    }

    // MARK: Header

    static func parseHeader(_ buffer: ByteBuffer, path: String) throws -> (Int, Int, ScalarType, Int) {
        func fail(_ reason: String) -> CaptionError { .invalidNumpy(path: path, reason: reason) }
        return try buffer.withUnsafeBytes { bytes -> (Int, Int, ScalarType, Int) in
            let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
            guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw fail("no NumPy magic (\\x93NUMPY)") }
            let major = bytes[6]
            let headerLength: Int, start: Int
            switch major {
            case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
            case 2, 3:
                guard bytes.count >= 12 else { throw fail("truncated header") }
                headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
            default: throw fail("unsupported format version \(major).\(bytes[7])")
            }
            guard headerLength <= 1 << 20, start + headerLength <= bytes.count else { throw fail("truncated header") }
            guard let text = String(bytes: bytes[start..<(start + headerLength)], encoding: major == 3 ? .utf8 : .ascii) else {
                throw fail("header is not text")
            }
            let dict = try parseDict(text, fail: fail)
            guard let descr = dict["descr"] else { throw fail("header has no 'descr'") }
            guard let order = dict["fortran_order"] else { throw fail("header has no 'fortran_order'") }
            guard order == "False" else { throw fail("Fortran-ordered arrays are not supported (save with np.ascontiguousarray)") }
            guard let shapeText = dict["shape"] else { throw fail("header has no 'shape'") }
            let scalar: ScalarType
            switch descr {
            case "<f2", "=f2", "|f2": scalar = .float16
            case "<f4", "=f4", "|f4": scalar = .float32
            default: throw fail("dtype '\(descr)' is not supported (float16 '<f2' or float32 '<f4')")
            }
            let inner = shapeText.trimmingCharacters(in: .whitespaces)
            guard inner.hasPrefix("("), inner.hasSuffix(")") else { throw fail("malformed shape \(shapeText)") }
            let dims = inner.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let values = dims.compactMap { Int($0.hasSuffix("L") ? String($0.dropLast()) : $0) }
            guard values.count == dims.count, values.allSatisfy({ $0 >= 0 }) else { throw fail("malformed shape \(shapeText)") }
            guard values.count == 2 else { throw fail("shape \(shapeText) is not 2-D (rows × dimension)") }
            guard values[1] > 0 else { throw fail("shape \(shapeText) has zero columns") }
            let (bytesNeeded, overflow) = values[0].multipliedReportingOverflow(by: values[1] * 4)
            guard !overflow, bytesNeeded < Int.max / 2 else { throw fail("shape \(shapeText) is too large") }
            return (values[0], values[1], scalar, start + headerLength)
        }
    }

    /// Parses the header's flat dict literal into key → value source text.
    static func parseDict(_ text: String, fail: (String) -> CaptionError) throws -> [String: String] {
        var body = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard body.first == "{", body.last == "}" else { throw fail("header is not a dict literal") }
        body = body.dropFirst().dropLast()
        var result: [String: String] = [:]
        var index = body.startIndex
        func skipSpaces() { while index < body.endIndex, body[index] == " " || body[index] == "," || body[index] == "\n" { index = body.index(after: index) } }
        while true {
            skipSpaces()
            guard index < body.endIndex else { break }
            let quote = body[index]
            guard quote == "'" || quote == "\"" else { throw fail("malformed header key") }
            index = body.index(after: index)
            guard let close = body[index...].firstIndex(of: quote) else { throw fail("unterminated header key") }
            let key = String(body[index..<close])
            index = body.index(after: close)
            while index < body.endIndex, body[index] == " " { index = body.index(after: index) }
            guard index < body.endIndex, body[index] == ":" else { throw fail("malformed header entry '\(key)'") }
            index = body.index(after: index)
            while index < body.endIndex, body[index] == " " { index = body.index(after: index) }
            guard index < body.endIndex else { throw fail("header entry '\(key)' has no value") }
            let valueStart = index
            if body[index] == "'" || body[index] == "\"" {
                let q = body[index]
                guard let end = body[body.index(after: index)...].firstIndex(of: q) else { throw fail("unterminated header value") }
                result[key] = String(body[body.index(after: index)..<end])
                index = body.index(after: end)
            } else if body[index] == "(" {
                guard let end = body[index...].firstIndex(of: ")") else { throw fail("unterminated shape tuple") }
                result[key] = String(body[valueStart...end])
                index = body.index(after: end)
            } else {
                let end = body[index...].firstIndex(of: ",") ?? body.endIndex
                result[key] = body[valueStart..<end].trimmingCharacters(in: .whitespaces)
                index = end
            }
        }
        return result
    }
}
