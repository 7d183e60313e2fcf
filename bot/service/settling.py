"""A change whose call failed may have taken effect all the same: its answer lost (a dropped
connection, a timeout), or a retry of it refused because of what the first try did. These read
the conversation back to know, so a change made is reported and audited as made."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.backends.base import ConversationBackend
from bot.bounded import settled
from bot.errors import ConvbotError
from bot.models import Conversation

log = logging.getLogger(__name__)
# Reads of a conversation after a change failed, to see whether it took effect all the same.
READ_BACK_TRIES = 3


async def settle(
    backend: ConversationBackend,
    before: Conversation,
    change: Awaitable[Conversation],
    done: Callable[[Conversation], bool],
) -> Conversation:
    """The conversation after `change`. When `change` fails, it may still have taken effect:
    its answer lost (a dropped connection, a timeout), or a retry of it refused because of
    what the first try did (closing twice, "already closed"). Reporting that as a failure
    would leave a change out of the audit log and tell the person to do it again. So the
    conversation is read back: when it now is as `done` says (and `before` was not, as the
    callers checked), the change is taken as made. Someone else making the very same change
    in that moment would be credited to this actor too, which is the lesser wrong."""
    try:
        return await change
    except ConvbotError as error:
        now = await read_back(backend, before.id)
        if now is None or not done(now):
            raise
        log.info("a change to %s failed (%s) yet took effect", before.id, error)
        return now


async def retag(
    backend: ConversationBackend, before: Conversation, names: list[str], *, linking: bool
) -> tuple[list[str], ConvbotError | None]:
    """Link (or unlink) tags `names`, which `before` lacks (or has): the names done, sorted,
    and the error of one not done (None when all were). The calls run concurrently, so some
    may succeed where another fails, and one that failed may have been done all the same
    (see `settle`): after a failure the tags are read back to know which."""
    conversation_id = before.id
    calls = (
        backend.add_tag(conversation_id, name)
        if linking
        else backend.remove_tag(conversation_id, name)
        for name in names
    )
    results = await settled(calls)
    failed: dict[str, ConvbotError] = {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, ConvbotError):
            failed[name] = result
        elif isinstance(result, BaseException):
            raise result
    if not failed:
        return sorted(names), None
    now = await read_back(backend, conversation_id)
    if now is not None:
        for name in list(failed):
            if (name in (now.tags or [])) == linking:
                log.info("%s of %s failed yet took effect", name, conversation_id)
                del failed[name]
    done = sorted(name for name in names if name not in failed)
    return done, next(iter(failed.values()), None)


async def read_back(backend: ConversationBackend, conversation_id: str) -> Conversation | None:
    """The conversation as the backend has it now; None when it cannot be read (a few tries:
    it is read because the backend just failed, and that may go on for a moment)."""
    for _ in range(READ_BACK_TRIES):
        try:
            return await backend.get(conversation_id)
        except ConvbotError as error:
            log.debug("reading %s back failed: %s", conversation_id, error)
    return None
