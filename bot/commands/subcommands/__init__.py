"""One module per family of `/conv` subcommands, each entry whole: grammar, help and handler."""
