import Foundation

/// Where the tests find the source tree: fixtures are read from `fixtures/` (committed golden files,
/// see the project README), not from bundle resources, so every test target locates the package root
/// from this file's path at compile time (`Tests/TestSupport/PackagePaths.swift` → three levels up).
public let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // TestSupport
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()  // package root

/// `<package root>/fixtures`.
public let fixturesDirectory: URL = packageRoot.appendingPathComponent("fixtures")

/// `<package root>/fixtures/<relative>`.
public func fixtureURL(_ relative: String) -> URL {
    fixturesDirectory.appendingPathComponent(relative)
}
