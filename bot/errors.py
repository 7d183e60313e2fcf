"""Errors are values a person can read.

Each carries one sentence for whoever typed the command: what is wrong and what to do. Listeners
and the CLI show `str(error)`; nothing below this layer decides how it is displayed.
"""

from __future__ import annotations


class ConvbotError(Exception):
    """Base of every error a user may see. `exit_code` is what the CLI returns for it."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(ConvbotError):
    """The command or its values are wrong; `usage` is the line that shows the right form."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage

    def __str__(self) -> str:
        return f"{self.message}\nUsage: {self.usage}" if self.usage else self.message


class NotFound(ConvbotError):
    pass


class ConversationNotFound(NotFound):
    """No conversation has exactly this id: what typed a prefix of one looks like at first, so
    the command layer then looks for the conversations whose ids start with it."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"Conversation {conversation_id} was not found.")
        self.conversation_id = conversation_id


class ConversationClosed(ConvbotError):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(
            f"Conversation {conversation_id} is closed and cannot be changed; "
            "create a new conversation instead."
        )
        self.conversation_id = conversation_id


class Forbidden(ConvbotError):
    pass


class BackendUnavailable(ConvbotError):
    """The backend could not be reached or failed; the change did not happen (or is unknown)."""

    exit_code = 2


class StateUnavailable(ConvbotError):
    """The bot's own records (the state database) could not be read or written. Raised by
    bot/state/ in place of the database driver's errors, so no layer above it knows which
    database that is."""

    exit_code = 2


class RateLimited(BackendUnavailable):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
