import Foundation
import TestSupport

/// Caption files and NumPy matrices of fixtures/generate_captions.py (`fixtures/captions/`).
enum CaptionsFixtures {
    static let directory = fixtureURL("captions")
    static func path(_ relative: String) -> String { directory.appendingPathComponent(relative).path }
}
