import ArgumentParser

/// The root options of CLI.md ("Conventions"): `concepts [--store DIR] COMMAND …`, accepted by every
/// command. The root command and every subcommand include this group; ArgumentParser decodes it once
/// (while parsing the root, which reads `--store` wherever it stands on the command line) and hands
/// the same value to each later `@OptionGroup` of this type, so `concepts --store S list` and
/// `concepts list --store S` mean the same.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The store directory (default: $CONCEPTS_STORE, $XDG_DATA_HOME/concepts or ~/.local/share/concepts).")
    var store: String?
}
