"""The `/conv` subcommands, shared by the Slack command and the CLI.

`bot.commands.registry` lists them, one entry each (grammar, help, handler);
`bot.commands.parser.parse(text)` turns what a person typed into one of the `bot.commands.spec`
models, or raises InvalidInput; `bot.commands.executor.execute` runs it. Import from those
modules: this package re-exports nothing, so each name has one home.
"""
