import ArgumentParser
import Foundation
import Registry
import StoreBackends

extension StoreCommand {
    /// `concepts [--catalog URL] [--blobs URL] store copy --to-catalog URL --to-blobs URL` →
    /// `{bases, concepts, versions, blobs, bytes}`.
    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy this store (its --catalog and --blobs) into another catalog and blob store, verified; resumable.",
            discussion: """
                Blobs are copied first, then the catalog's rows (ids kept), then every table's row count is compared.
                Run it again after an interruption: what was copied is skipped. Examples:
                  concepts store copy --to-catalog postgres://me@db:5432/concepts --to-blobs s3://bucket/concepts
                  concepts --catalog postgres://me@db/concepts --blobs s3://bucket/concepts store copy \\
                      --to-catalog /srv/copy/catalog.sqlite --to-blobs /srv/copy/blobs
                """)
        @OptionGroup var options: StoreOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .customLong("to-catalog"), help: "Destination catalog: postgres://user@host:port/db or a SQLite file path.")
        var toCatalog: String
        @Option(name: .customLong("to-blobs"), help: "Destination blobs: s3://bucket/prefix or a folder path.")
        var toBlobs: String

        func run() throws {
            let source = try options.location()
            let destination = StoreLocation(root: source.root, catalog: try StoreLocation.parseCatalog(toCatalog),
                                            blobs: try StoreLocation.parseBlobs(toBlobs))
            guard destination.catalog != source.catalog || destination.blobs != source.blobs else {
                throw CLIFailure(message: "the destination is the store itself")
            }
            let progress: ((String) -> Void)? = Progress.enabled ? { Progress.report($0) } : nil
            let sourceStore = try source.open(create: false)
            let destinationStore = try destination.open(create: true)
            let report = try StoreTransfer.copy(from: sourceStore, to: destinationStore, progress: progress)
            try output.emit(report) {
                "copied to \(destination): \(report.bases) bases, \(report.concepts) concepts, \(report.versions) versions; "
                    + "\(report.blobs) blobs written (\(formatBytes(report.bytes)))"
            }
        }
    }
}
