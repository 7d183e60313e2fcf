"""The conversation ids the bot's own records hold: those it changed (the audit log), whose cards
were pressed, that were escalated or snoozed. On Infobip, which cannot search ids, these are
where a typed id prefix is looked for besides one page of recent conversations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, union
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.tables import audit_log, card_action_claims, conversation_snoozes, escalations

_SOURCES = (audit_log, card_action_claims, escalations, conversation_snoozes)
# A refusal is audited with the id as typed, before anything looked it up: no evidence of one.
_REFUSED = "denied"


class KnownConversationIds:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def starting_with(self, prefix: str, limit: int) -> list[str]:
        """At most `limit` distinct ids that start with `prefix` (case-sensitive), sorted."""
        parts = (
            _matching(
                table.c.conversation_id,
                prefix,
                limit,
                audit_log.c.action != _REFUSED if table is audit_log else None,
            )
            for table in _SOURCES
        )
        found = union(*parts).subquery()
        stmt = select(found.c.conversation_id).order_by(found.c.conversation_id).limit(limit)
        async with self._engine.connect() as conn:
            return [str(known) for known in (await conn.execute(stmt)).scalars()]


def _matching(
    column: ColumnElement[str | None],
    prefix: str,
    limit: int,
    also: ColumnElement[bool] | None = None,
) -> Select[Any]:
    # LIKE narrows (case-insensitively on SQLite), substr keeps exact matches; each source gives
    # at most `limit` ids, so the answer stays small however large the audit log grows. Wrapped
    # in a subquery: SQLite allows no LIMIT on a member of a UNION itself.
    limited = (
        select(column.label("conversation_id"))
        .where(
            column.startswith(prefix, autoescape=True),
            func.substr(column, 1, len(prefix)) == prefix,
            *([] if also is None else [also]),
        )
        .distinct()
        .limit(limit)
        .subquery()
    )
    return select(limited.c.conversation_id)
