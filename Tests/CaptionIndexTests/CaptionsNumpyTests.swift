@testable import CaptionIndex
import Foundation
import Testing

/// `.npy` reading against files written by numpy (fixtures/generate_captions.py), exact values.
@Suite struct CaptionsNumpyTests {
    struct Values: Decodable { let f4: [[Double]]; let f2: [[Double]] }

    @Test(arguments: [("f4.npy", false), ("f4_v2.npy", false), ("f2.npy", true)])
    func readsRows(file: String, half: Bool) throws {
        let values = try JSONDecoder().decode(Values.self, from: Data(contentsOf: CaptionsFixtures.directory.appendingPathComponent("npy/values.json")))
        let expected = half ? values.f2 : values.f4
        let matrix = try NumpyMatrixFile(path: CaptionsFixtures.path("npy/" + file))
        #expect(matrix.rows == 3 && matrix.columns == 5)
        #expect(matrix.scalarType == (half ? .float16 : .float32))
        var row = [Float](repeating: 0, count: 5)
        for i in 0..<3 {
            row.withUnsafeMutableBufferPointer { matrix.readRow(i, into: $0) }
            #expect(row.map(Double.init) == expected[i])  // exact: both sides are the stored values
        }
    }

    @Test(arguments: ["bad_f8.npy", "bad_i4.npy", "bad_bigendian.npy", "bad_fortran.npy", "bad_1d.npy", "bad_3d.npy",
                      "bad_truncated.npy", "bad_magic.npy"])
    func refusesBadFiles(file: String) throws {
        let path = CaptionsFixtures.path("npy/" + file)
        #expect(throws: CaptionError.self) { try NumpyMatrixFile(path: path) }
        do { _ = try NumpyMatrixFile(path: path) } catch let error as CaptionError {
            guard case .invalidNumpy(let p, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(p == path)
        }
    }

    @Test func missingFileIsAnIOError() {
        #expect(throws: CaptionError.io(path: "/nonexistent.npy", reason: "cannot open /nonexistent.npy: No such file or directory")) {
            try NumpyMatrixFile(path: "/nonexistent.npy")
        }
    }
}
