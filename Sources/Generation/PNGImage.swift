import CPNG
import Foundation

/// An 8-bit RGB image and its PNG text chunks, written and read through Debian's libpng 1.6.
public struct PNGImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Rows top to bottom, 3 bytes (R, G, B) per pixel.
    public var pixels: [UInt8]
    /// Text chunks in order (key, value): ASCII values go into `tEXt`, others into `iTXt` (UTF-8).
    public var text: [(key: String, value: String)]

    public init(width: Int, height: Int, pixels: [UInt8], text: [(key: String, value: String)] = []) {
        self.width = width
        self.height = height
        self.pixels = pixels
        self.text = text
    }

    public static func == (a: PNGImage, b: PNGImage) -> Bool {
        a.width == b.width && a.height == b.height && a.pixels == b.pixels
            && a.text.map(\.key) == b.text.map(\.key) && a.text.map(\.value) == b.text.map(\.value)
    }

    /// Writes the image to `url` exactly as given (no temporary file; see ``write(atomicallyTo:)``).
    public func write(to url: URL) throws {
        guard width > 0, height > 0, pixels.count == width * height * 3 else {
            throw GenerationError.png(path: url.path, reason: "\(pixels.count) bytes for a \(width)×\(height) RGB image")
        }
        var error = cpng_error()
        let keys = text.map { strdup($0.key) }
        let values = text.map { strdup($0.value) }
        defer { (keys + values).forEach { free($0) } }
        let status: Int32 = pixels.withUnsafeBufferPointer { buffer in
            keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { k in
                values.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in
                    cpng_write_rgb8(url.path, buffer.baseAddress, UInt32(width), UInt32(height), k.baseAddress, v.baseAddress,
                                    Int32(text.count), &error)
                }
            }
        }
        if status != 0 { throw GenerationError.png(path: url.path, reason: Self.message(&error)) }
    }

    /// Writes to a temporary file beside `url` (`.NAME.tmp-PID`), then renames it over `url`: a reader never sees
    /// a partial PNG, and an interrupt leaves at most the temporary file, which ``InterruptCleanup`` removes.
    public func write(atomicallyTo url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        InterruptCleanup.shared.register(temporary)
        defer { InterruptCleanup.shared.unregister(temporary) }
        do {
            try write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw GenerationError.unwritableOutput(path: url.path, reason: String(cString: strerror(errno)))
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    /// Reads a PNG (any colour type, converted to 8-bit RGB) with its text chunks.
    public static func read(from url: URL) throws -> PNGImage {
        var image = cpng_image()
        var error = cpng_error()
        guard cpng_read_rgb8(url.path, &image, &error) == 0 else { throw GenerationError.png(path: url.path, reason: message(&error)) }
        defer { cpng_free(&image) }
        let count = Int(image.width) * Int(image.height) * 3
        let pixels = Array(UnsafeBufferPointer(start: image.pixels, count: count))
        var text: [(String, String)] = []
        for i in 0..<Int(image.text_count) {
            guard let key = image.keys[i], let value = image.values[i] else { continue }
            text.append((String(cString: key), String(cString: value)))
        }
        return PNGImage(width: Int(image.width), height: Int(image.height), pixels: pixels, text: text)
    }

    private static func message(_ error: inout cpng_error) -> String {
        withUnsafeBytes(of: &error.message) { raw in
            let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            return text.isEmpty ? "libpng failed" : text
        }
    }
}
