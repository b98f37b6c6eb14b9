import Foundation

/// Byte-pair encoding of one pre-tokenized word over a ranked merge list (Sennrich et al. 2016; CLIP's
/// `SimpleTokenizer.bpe`, tokenizers' `BPE` with `end_of_word_suffix = "</w>"`).
///
/// The word's UTF-8 bytes become byte-level symbols (`ByteLevel`), the last one carrying `</w>`; then the adjacent
/// pair with the lowest merge rank is merged everywhere (left to right, non-overlapping) until no pair has a rank.
/// Symbols are vocabulary ids throughout, so a merge is an `(id, id) → (rank, id)` lookup. Results are cached per
/// word, as both reference implementations do.
struct BytePairEncoder: Sendable {
    struct Pair: Hashable, Sendable {
        let left: Int32
        let right: Int32
    }

    struct Merge: Sendable {
        let rank: Int32
        let result: Int32
    }

    let merges: [Pair: Merge]
    /// Id of the byte-level character of each byte, and of that character + `</w>`.
    let byteIDs: [Int32]
    let byteEndIDs: [Int32]
    let cache = WordCache()

    init(vocabulary: [String: Int32], merges list: [(String, String)], unknownID: Int32, source: String) throws {
        var table: [Pair: Merge] = [:]
        table.reserveCapacity(list.count)
        for (rank, (a, b)) in list.enumerated() {
            guard let l = vocabulary[a], let r = vocabulary[b], let m = vocabulary[a + b] else {
                throw TextEncoderError.mergeNotInVocabulary(path: source, merge: "\(a) \(b)")
            }
            let pair = Pair(left: l, right: r)
            if table[pair] == nil { table[pair] = Merge(rank: Int32(rank), result: m) }
        }
        merges = table
        byteIDs = ByteLevel.character.map { vocabulary[String($0)] ?? unknownID }
        byteEndIDs = ByteLevel.character.map { vocabulary[String($0) + "</w>"] ?? unknownID }
    }

    /// The ids of one word.
    func encode(word: String) -> [Int32] {
        if let hit = cache[word] { return hit }
        let bytes = Array(word.utf8)
        guard let last = bytes.last else { return [] }
        var symbols = bytes.dropLast().map { byteIDs[Int($0)] } + [byteEndIDs[Int(last)]]
        while symbols.count > 1 {
            var best: Merge?
            var bestPair = Pair(left: 0, right: 0)
            for i in 0..<(symbols.count - 1) {
                let pair = Pair(left: symbols[i], right: symbols[i + 1])
                if let merge = merges[pair], merge.rank < (best?.rank ?? .max) {
                    best = merge
                    bestPair = pair
                }
            }
            guard let best else { break }
            var merged: [Int32] = []
            merged.reserveCapacity(symbols.count)
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count, symbols[i] == bestPair.left, symbols[i + 1] == bestPair.right {
                    merged.append(best.result)
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
        }
        cache[word] = symbols
        return symbols
    }
}

/// A bounded, thread-safe word → ids cache (cleared when full, like tokenizers' 10 000-entry BPE cache).
/// `@unchecked Sendable`: all access to `storage` goes through `lock`.
final class WordCache: @unchecked Sendable {
    private var storage: [String: [Int32]] = [:]
    private let lock = NSLock()
    private let capacity = 10_000

    subscript(word: String) -> [Int32]? {
        get { lock.withLock { storage[word] } }
        set {
            lock.withLock {
                if storage.count >= capacity { storage.removeAll(keepingCapacity: true) }
                storage[word] = newValue
            }
        }
    }
}
