/// CRC-32 as zip uses it (ISO-HDLC: reflected polynomial 0xEDB88320, initial value and final XOR
/// 0xFFFFFFFF; APPNOTE.TXT §4.4.7), computed with slicing-by-8 tables.
///
/// zlib's `crc32` is not linked into this package, so the tables are built here once.
public struct ZipCRC32: Sendable {
    /// Slicing-by-8 tables, flattened: entry `256·k + b` is the CRC contribution of byte `b`
    /// followed by `k` zero bytes.
    private static let table: [UInt32] = {
        var first = [UInt32](repeating: 0, count: 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            first[n] = c
        }
        var table = first
        for k in 1..<8 {
            for n in 0..<256 {
                let previous = table[256 * (k - 1) + n]
                table.append((previous >> 8) ^ first[Int(previous & 0xFF)])
            }
        }
        return table
    }()

    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = ZipCRC32()
        crc.update(bytes)
        return crc.value
    }

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The checksum of everything passed to `update` so far.
    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var crc = state
        var i = 0
        let n = bytes.count
        Self.table.withUnsafeBufferPointer { t in
            while n - i >= 8 {
                let lo = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self)) ^ crc
                let hi = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                crc = t[1792 + Int(lo & 0xFF)] ^ t[1536 + Int((lo >> 8) & 0xFF)]
                    ^ t[1280 + Int((lo >> 16) & 0xFF)] ^ t[1024 + Int(lo >> 24)]
                    ^ t[768 + Int(hi & 0xFF)] ^ t[512 + Int((hi >> 8) & 0xFF)]
                    ^ t[256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(base.load(fromByteOffset: i, as: UInt8.self))) & 0xFF)]
                i += 1
            }
        }
        state = crc
    }
}
