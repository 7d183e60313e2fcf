"""Where conversations live: the Infobip API, or the embedded store with the same rules."""

from bot.backends.base import ConversationBackend

__all__ = ["ConversationBackend"]
