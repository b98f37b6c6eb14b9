import ArgumentParser
import Registry

/// `concepts gc`.
struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "Remove blobs nothing refers to.")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let report = try options.open(create: false).collectGarbage()
        try output.emit(report) { "removed \(report.blobsRemoved) blobs, freed \(formatBytes(report.bytesFreed))" }
    }
}
