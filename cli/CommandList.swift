import ArgumentParser

/// Every subcommand, in help order. Add one line per new command file.
enum CommandList {
    static let all: [ParsableCommand.Type] = [
        InitCommand.self,
        InspectCommand.self,
        ConvertCommand.self,
        BaseCommand.self,
        EncoderCommand.self,
        TokenizeCommand.self,
        EncodeCommand.self,
        RegisterCommand.self,
        ListCommand.self,
        ShowCommand.self,
        VersionsCommand.self,
        TagCommand.self,
        UntagCommand.self,
        ExportCommand.self,
        ComposeCommand.self,
        GenerateCommand.self,
        CaptionsCommand.self,
        RegsetCommand.self,
        VerifyCommand.self,
        GCCommand.self,
        StoreCommand.self,
        ServeCommand.self,
        TokenCommand.self,
        PullCommand.self,
        RuntimeCommand.self,
    ]
}
