import Foundation
import Tensors

/// Writes one scan-index file (layout and estimator: `CaptionScanIndex`) from a set's captions in id
/// order, streamed: each `append` adds an id (kept in memory, 8 bytes) and its fp16 row (written to
/// the file through a 4 MB buffer); `finish` computes the centroid, the codes and the factors from
/// the written rows, in parallel, and syncs the file; `publish` renames it to its final name.
///
/// `captions import` appends the set's rows as it inserts them and finishes while SQLite builds the
/// full-text index, so no search pays for the index; a search builds it from the catalog only when
/// the file is missing or damaged (`CaptionScanIndex.build`). Both give the same bytes.
///
/// Until `publish`, the file is `<path>.tmp-<pid>-<random>`, removed by `discard` or on deinit.
public final class CaptionScanIndexWriter: @unchecked Sendable {
    // `@unchecked Sendable`: used by one thread at a time (the importing transaction appends, then
    // one background thread finishes while that transaction waits for it).
    public let path: String
    let temporary: String
    public let setID: Int64
    public let revision: Int64
    public let dimension: Int
    public private(set) var ids: [Int64] = []
    private var handle: FileHandle?
    private var pending = Data()
    private var state = State.appending
    private enum State { case appending, finished, published, discarded }

    public init(path: String, setID: Int64, revision: Int64, dimension: Int) throws {
        self.path = path
        self.setID = setID
        self.revision = revision
        self.dimension = dimension
        temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw CaptionError.scanIndex(path: path, reason: error.localizedDescription)
        }
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw CaptionError.scanIndex(path: temporary, reason: "cannot create")
        }
        self.handle = handle
        pending.reserveCapacity(Self.flushBytes + 2 * dimension)
        do { try handle.seek(toOffset: UInt64(CaptionScanIndex.Layout(count: 0, dimension: dimension).rows)) } catch {
            throw fail(error.localizedDescription)
        }
    }

    deinit { if state != .published { discard() } }

    static let flushBytes = 1 << 22

    private func fail(_ reason: String) -> CaptionError { .scanIndex(path: path, reason: reason) }

    /// Adds caption `id` (larger than every id before it) with its stored embedding `bits`
    /// (`dimension` little-endian fp16 values, as the catalog holds them).
    public func append(id: Int64, bits: UnsafeRawBufferPointer) throws {
        guard state == .appending else { throw fail("appending after finish") }
        guard bits.count == 2 * dimension else { throw fail("caption \(id) has a \(bits.count)-byte embedding, not \(2 * dimension)") }
        if let last = ids.last, id <= last { throw fail("caption ids out of order (\(id) after \(last))") }
        ids.append(id)
        pending.append(contentsOf: bits)
        if pending.count >= Self.flushBytes { try flush() }
    }

    public func append(id: Int64, data: Data) throws {
        try data.withUnsafeBytes { try append(id: id, bits: $0) }
    }

    private func flush() throws {
        guard !pending.isEmpty, let handle else { return }
        do { try handle.write(contentsOf: pending) } catch { throw fail(error.localizedDescription) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Computes and writes everything but the rows, then syncs the file (still under its temporary name).
    public func finish() throws {
        guard state == .appending, let handle else { throw fail("finished twice") }
        try flush()
        let d = dimension, n = ids.count
        let layout = CaptionScanIndex.Layout(count: n, dimension: d)
        do {
            try handle.truncate(atOffset: UInt64(layout.size))
            try handle.close()  // `fill` works through its own descriptor
        } catch { throw fail(error.localizedDescription) }
        self.handle = nil
        let fd = open(temporary, O_RDWR)
        guard fd >= 0 else { throw fail(String(cString: strerror(errno))) }
        defer { close(fd) }
        try CaptionScanIndex.fill(fd: fd, layout: layout, ids: ids, setID: setID, revision: revision, path: path)
        guard fsync(fd) == 0 else { throw fail("fsync: \(String(cString: strerror(errno)))") }
        state = .finished
    }

    /// Renames the finished file to `path` and opens it.
    public func publish() throws -> CaptionScanIndex {
        guard state == .finished else { throw fail("published before it was finished") }
        guard rename(temporary, path) == 0 else { throw fail(String(cString: strerror(errno))) }
        state = .published
        guard let index = try CaptionScanIndex(path: path, setID: setID, revision: revision) else {
            throw fail("missing right after it was written")
        }
        return index
    }

    /// Removes the temporary file (nothing was published).
    public func discard() {
        try? handle?.close()
        handle = nil
        if state != .published { try? FileManager.default.removeItem(atPath: temporary) }
        state = .discarded
    }
}
