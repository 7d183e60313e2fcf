"""The Infobip Conversations emulator: any ConversationBackend served over HTTP under /ccaas/1/,
optionally slow (`latency=`) or failing (`faults=`, see `bot.devtools.faults`); over the embedded
store it also acts as the customer (`POST /emulator/conversations/{id}/inbound`, transcripts.py)."""

from bot.devtools.emulator.app import create_emulator_app

__all__ = ["create_emulator_app"]
