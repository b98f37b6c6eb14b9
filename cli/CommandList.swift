import ArgumentParser

/// Every subcommand, in help order. Add one line per new command file.
enum CommandList {
    static let all: [ParsableCommand.Type] = [
        InspectCommand.self,
        ConvertCommand.self,
        EncoderCommand.self,
        CaptionsCommand.self,
        RegsetCommand.self,
    ]
}
