import Foundation

/// Progress lines on stderr, only when stderr is a terminal (CLI.md "Conventions").
enum Progress {
    static let enabled = isatty(STDERR_FILENO) != 0
    static func report(_ line: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }
}

/// Human-readable byte counts for text output (decimal units: 1 KB = 1000 B).
func formatBytes(_ n: Int) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(n), unit = 0
    while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
}
