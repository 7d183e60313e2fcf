"""Conversation ids as people type them: the whole id, or a unique prefix of MIN_PREFIX or more.

A command runs first with the id as typed, so a whole id costs exactly what it did before (no
lookup, no extra request). Only when no conversation has that exact id is it taken as a prefix
and looked up once, boundedly:
- the embedded store searches every id (`id LIKE 'prefix%'` with a LIMIT);
- Infobip has no id search, so the ids the bot's own records hold (bot/state/known_ids.py) and
  one page of the most recently updated conversations are searched, no more. An older
  conversation the bot never touched needs its whole id there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel

from bot.backends.base import ConversationBackend
from bot.bounded import settled
from bot.errors import ConversationNotFound, InvalidInput, NotFound
from bot.models import Conversation
from bot.state.known_ids import KnownConversationIds

MIN_PREFIX = 8  # the first 8 of a UUID: one in four billion, unique in any real backlog
SHOWN = 3  # candidates an ambiguous prefix names
TOPIC_SHOWN = 60
TYPED_SHOWN = 60  # an id may be 255 characters; an answer quotes the start of what was typed

_C = TypeVar("_C", bound=BaseModel)
_T = TypeVar("_T")


class ConversationIds:
    """Completes a typed id prefix to the one conversation id it starts."""

    def __init__(self, backend: ConversationBackend, known: KnownConversationIds | None) -> None:
        self._backend = backend
        self._known = known

    async def complete(self, typed: str) -> str:
        """The id of the one conversation whose id starts with `typed`; else a readable error
        (nothing starts so, or several do, named with their topics)."""
        said = _clipped(typed, TYPED_SHOWN)
        if len(typed) < MIN_PREFIX:
            raise NotFound(
                f"No conversation has the id '{said}'. Give the whole id, or at least its first"
                f" {MIN_PREFIX} characters."
            )
        # One more than shown, to know whether there are more than the answer names.
        wanted = SHOWN + 1
        found = await self._backend.with_id_prefix(typed, wanted)
        topics: dict[str, str | None] = {c.id: c.topic for c in found.conversations}
        if not found.complete and self._known is not None:
            for known in await self._known.starting_with(typed, wanted):
                topics.setdefault(known, None)
        ids = sorted(topics)
        if not ids:
            raise NotFound(_nothing_starts(said, complete=found.complete))
        if len(ids) == 1:
            return ids[0]
        shown = ids[:SHOWN]
        await self._fill_topics(topics, [i for i in shown if topics[i] is None])
        lines = [f"• `{i}` {_topic(topics[i])}" for i in shown]
        more = ["• … and more"] if len(ids) > SHOWN else []
        raise InvalidInput(
            "\n".join(
                [
                    f"'{said}' starts the ids of several conversations:",
                    *lines,
                    *more,
                    "Type more of the id to pick one.",
                ]
            )
        )

    async def _fill_topics(self, topics: dict[str, str | None], missing: list[str]) -> None:
        """Topics of ids known only from the bot's records, read at once (at most SHOWN);
        an id that cannot be read is named without one."""
        read = await settled(self._backend.get(i) for i in missing)
        for answer in read:
            if isinstance(answer, Conversation):
                topics[answer.id] = answer.topic


async def with_full_id(
    command: _C, complete: Callable[[str], Awaitable[str]], run: Callable[[_C], Awaitable[_T]]
) -> _T:
    """Run `command`; when no conversation has its `id` as typed, run it again with the id
    `complete` (`ConversationIds.complete`) makes of that prefix. Every change reads its
    conversation before touching it, so the first run failed before it changed anything."""
    typed = getattr(command, "id", None)
    if not isinstance(typed, str):
        return await run(command)
    try:
        return await run(command)
    except ConversationNotFound as missing:
        if missing.conversation_id != typed:
            raise
    full = await complete(typed)
    return await run(command.model_copy(update={"id": full}))


def _nothing_starts(typed: str, *, complete: bool) -> str:
    # Said both ways: it may have been meant as a whole id or as the start of one.
    if complete:
        return (
            f"No conversation has the id '{typed}', and no id starts with it. Find the"
            " conversation with `list`."
        )
    return (
        f"No conversation has the id '{typed}', and no id starts with it among the"
        " conversations this bot has worked on and the most recently updated ones. Give the"
        " whole id, or find it with `list`."
    )


def _topic(topic: str | None) -> str:
    return _clipped(topic, TOPIC_SHOWN) if topic else "(no topic)"


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
