"""The fake workspace's fixed identities, shared by the server and the payload builders.

They look like Slack's own ids (T… team, A… app, U… bot user, B… bot) so code that inspects id
prefixes behaves as it would against a real workspace.
"""

from __future__ import annotations

TEAM_ID = "T0FAKE0001"
TEAM_NAME = "Fake Workspace"
TEAM_DOMAIN = "fakeslack"
APP_ID = "A0FAKE0001"
BOT_USER_ID = "U0FAKEBOT1"
BOT_ID = "B0FAKEBOT1"
BOT_NAME = "convbot"
# The deprecated per-app verification token Slack still puts in every payload's `token` field.
VERIFICATION_TOKEN = "fakeVerificationToken0001"
