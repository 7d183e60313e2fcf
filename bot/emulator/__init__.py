"""The Infobip Conversations emulator: any ConversationBackend served over HTTP under /ccaas/1/."""

from bot.emulator.app import create_emulator_app

__all__ = ["create_emulator_app"]
