"""`/conv schedules`: one section per configured digest, with when it runs and how it last went.

Times are `slack_date` tokens, so every viewer reads them in their own time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from bot.config import DigestSchedule
from bot.slack.blocks import limits
from bot.slack.blocks.mrkdwn import NOTHING, clip, escape, md, slack_date, user_text
from bot.state.ticks import TickRecord

NO_DIGESTS = (
    "No digests are configured. Add them under `digests:` in convbot.yml"
    " (name, channel, cron or every); `/conv help digest` tells what a digest shows."
)
ERROR_MAX = 500
_CHANNEL_ID = "CGD"  # first letters of a channel id worth drawing as `<#C…>`


def channel_link(channel: str) -> str:
    """`<#C…>` for a channel id (config validated it); anything else as escaped text."""
    if channel[:1] in _CHANNEL_ID and channel.isalnum():
        return f"<#{channel}>"
    return escape(channel)


def schedules_blocks(
    schedules: Sequence[DigestSchedule],
    last: Mapping[str, TickRecord | None],
    upcoming: Mapping[str, datetime | None],
) -> tuple[str, list[Block]]:
    """`(text, blocks)`; `last` and `upcoming` are keyed by digest name."""
    if not schedules:
        return NO_DIGESTS, [SectionBlock(text=md(escape(NO_DIGESTS)))]
    noun = "digest" if len(schedules) == 1 else "digests"
    headline = f"{len(schedules)} {noun} scheduled."
    blocks: list[Block] = [ContextBlock(elements=[md(headline)])]
    # The head takes one block; one more says how many were left out.
    room = limits.MESSAGE_BLOCKS - 2
    for schedule in schedules[:room]:
        record = last.get(schedule.name)
        error = record.error if record is not None else None
        lines = [
            f"*{escape(schedule.name)}* in {channel_link(schedule.channel)}",
            f"Runs: {user_text(schedule.when, 300)}",
            f"Last run: {slack_date(record.scheduled_at if record else None)}"
            f"   Next run: {slack_date(upcoming.get(schedule.name))}",
            f"Last error: {user_text(error, ERROR_MAX, empty=NOTHING)}",
        ]
        blocks.append(SectionBlock(text=md(clip("\n".join(lines), limits.SECTION_TEXT))))
    if len(schedules) > room:
        blocks.append(ContextBlock(elements=[md(f"…and {len(schedules) - room} more.")]))
    return headline, blocks
