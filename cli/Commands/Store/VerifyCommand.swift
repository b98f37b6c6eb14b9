import ArgumentParser
import Registry

/// `concepts verify` — exit 1 when any problem is found.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Re-hash every blob and check every reference.")
    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let report = try options.open(create: false).verify()
        try output.emit(report) {
            report.problems.isEmpty ? "\(report.blobsChecked) blobs checked, no problems"
                : (["\(report.blobsChecked) blobs checked, \(report.problems.count) problems:"] + report.problems.map { "  \($0)" }).joined(separator: "\n")
        }
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}
