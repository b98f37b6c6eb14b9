/// A single `Range: bytes=…` request (RFC 9110 §14.1.2) resolved against a file of `size` bytes.
enum ByteRange: Equatable {
    /// No usable Range header (absent, several ranges, or not `bytes`): send the whole file.
    case whole
    /// `first...last`, both inclusive, inside the file.
    case partial(ClosedRange<Int>)
    /// A syntactically valid range that lies outside the file: 416.
    case unsatisfiable

    /// `bytes=a-b`, `bytes=a-` or `bytes=-n`.
    init(header: String?, size: Int) {
        guard let header else { self = .whole; return }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("bytes="), !trimmed.contains(",") else { self = .whole; return }
        let spec = trimmed.dropFirst("bytes=".count)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { self = .whole; return }
        let startText = parts[0].trimmingCharacters(in: .whitespaces), endText = parts[1].trimmingCharacters(in: .whitespaces)
        if startText.isEmpty {
            guard let suffix = Int(endText), suffix >= 0 else { self = .whole; return }
            guard suffix > 0, size > 0 else { self = .unsatisfiable; return }
            self = .partial(max(0, size - suffix)...(size - 1))
            return
        }
        guard let start = Int(startText), start >= 0 else { self = .whole; return }
        let end: Int
        if endText.isEmpty {
            end = size - 1
        } else {
            guard let value = Int(endText), value >= start else { self = .whole; return }
            end = min(value, size - 1)
        }
        guard start < size else { self = .unsatisfiable; return }
        self = .partial(start...end)
    }
}

import Foundation
