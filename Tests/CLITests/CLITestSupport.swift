import Foundation
import TestSupport

/// Helpers for tests that run the built `concepts` binary (the CLI contract in docs/CLI.md).

/// `fixtures/<relative>` in the source tree.
func fixturePath(_ relative: String) -> String { packageRoot.appendingPathComponent("fixtures/\(relative)").path }

/// The `concepts` executable of the build these tests run from: it sits next to the test bundle
/// (`.build…/debug/ConceptRegistryPackageTests.xctest`). `CONCEPTS_BINARY` overrides the search.
let conceptsBinary: String? = {
    let fm = FileManager.default
    if let override = ProcessInfo.processInfo.environment["CONCEPTS_BINARY"] { return override }
    var candidates: [URL] = []
    if let first = ProcessInfo.processInfo.arguments.first {
        candidates.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
    }
    candidates.append(Bundle.main.bundleURL)
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
    if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent()) }
    for directory in candidates {
        // Walk up a few levels (macOS nests the binary inside `….xctest/Contents/MacOS`).
        var current = directory
        for _ in 0..<4 {
            let candidate = current.appendingPathComponent("concepts")
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
               fm.isExecutableFile(atPath: candidate.path) {
                return candidate.path
            }
            current = current.deletingLastPathComponent()
        }
    }
    return nil
}()

/// Errors of the harness itself (not of the command under test).
struct CLITestSupportError: Error, CustomStringConvertible {
    var description: String
}

/// Runs `concepts args…` with `env` added to this process's environment and the variables `unsetting` removed
/// from it (stdin empty) and waits. Returns the exit status and everything written on stdout and stderr.
@discardableResult
func runConcepts(_ args: [String], env: [String: String] = [:], unsetting: [String] = [], stdin: Data? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    guard let binary = conceptsBinary else {
        throw CLITestSupportError(description: "cannot find the built `concepts` next to the test bundle (set CONCEPTS_BINARY)")
    }
    let fm = FileManager.default
    let scratch = fm.temporaryDirectory.appendingPathComponent("concepts-run-\(UUID().uuidString)")
    try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? fm.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
    let inURL = scratch.appendingPathComponent("stdin")
    _ = fm.createFile(atPath: outURL.path, contents: nil)
    _ = fm.createFile(atPath: errURL.path, contents: nil)
    _ = fm.createFile(atPath: inURL.path, contents: stdin ?? Data())

    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = args
    var environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
    for name in unsetting { environment[name] = nil }
    process.environment = environment
    // Files rather than pipes: no deadlock whatever the output size.
    let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
    let inHandle = try FileHandle(forReadingFrom: inURL)
    process.standardOutput = outHandle
    process.standardError = errHandle
    process.standardInput = inHandle
    try process.run()
    process.waitUntilExit()
    try outHandle.close()
    try errHandle.close()
    try inHandle.close()
    let stdout = String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
    let stderr = String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
    return (process.terminationStatus, stdout, stderr)
}

/// Parses a `--json` stdout: exactly one JSON object.
func jsonObject(_ stdout: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
        throw CLITestSupportError(description: "stdout is not one JSON object: \(stdout)")
    }
    return object
}

/// A fresh temporary directory for a test; remove it when done.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("concepts-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
