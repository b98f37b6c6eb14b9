import ArgumentParser
import Foundation
import Logging
import Registry
import RegistryServer

/// `concepts serve [--store DIR] [--host 127.0.0.1] [--port 8740] [--public-read] [--max-upload BYTES]`.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the store over HTTP (API v1, see openapi.yaml) until SIGTERM or SIGINT.",
        discussion: """
            Clients authenticate with bearer tokens (`concepts token create NAME --scope read|write|admin`).
            --public-read lets anonymous clients use the read routes. Logs go to stderr.
            """)

    @OptionGroup var options: StoreOptions
    @Option(help: "Address to bind (loopback by default).") var host = "127.0.0.1"
    @Option(help: "TCP port (0: any free port, printed in the log).") var port = ServerConfiguration.defaultPort
    @Flag(name: .customLong("public-read"), help: "Allow anonymous read requests.") var publicRead = false
    @Option(name: .customLong("max-upload"), help: "Largest accepted upload in bytes (default 1 GiB).") var maxUpload = ServerConfiguration.defaultMaxUpload
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.", transform: LogLevelChoice.parser(flag: "--log-level"))
    var logLevel: LogLevelChoice = .info

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0…65535") }
        guard maxUpload > 0 else { throw ValidationError("--max-upload must be positive") }
    }

    func run() throws {
        let level = logLevel.level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "concepts.serve")
        logger.logLevel = level
        let configuration = ServerConfiguration(storeRoot: options.root, host: host, port: port, publicRead: publicRead, maxUpload: maxUpload)
        try runAsync { [logger] in
            let server = try await RegistryServer(configuration: configuration, logger: logger)
            try await server.run { port in
                logger.notice("serving \(configuration.storeRoot.path) on http://\(configuration.host):\(port)",
                              metadata: ["public_read": "\(configuration.publicRead)", "max_upload": "\(configuration.maxUpload)"])
            }
            logger.notice("stopped")
        }
    }
}
