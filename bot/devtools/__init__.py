"""Tools for running convbot without Slack or Infobip: shipped, since `convbot dev` and
`convbot emulator` are user features, but never imported by the product's own layers.

fakeslack/  a strict fake of the Slack Web API, Socket Mode and request signing
emulator/   the Infobip Conversations API served over the embedded store
faults/     fault plans (429, 5xx, timeouts, dropped connections) for the emulator and its proxy
dev/        `convbot dev`: the bot and a local Slack page on one port, with demo data
loopback.py serve an ASGI app on a free loopback port inside the running event loop
"""
