"""The `/conv` command grammar, shared by the Slack command and the CLI.

`bot.commands.parser.parse(text)` turns what a person typed into one of the `bot.commands.spec`
models, or raises InvalidInput. Import from those modules: this package re-exports nothing, so each
name has one home.
"""
