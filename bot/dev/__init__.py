"""`convbot dev`: the bot and a local Slack in a browser, on the embedded backend."""
