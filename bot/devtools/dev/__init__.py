"""`convbot dev`: the bot and a local Slack in a browser, on the embedded backend."""

# The flag `convbot dev` needs to listen where other machines reach it (its page has no sign-in).
EXPOSE_FLAG = "--unsafe-expose"
