"""The Slack side of `/conv digest` and `/conv schedules`: post a digest now, list schedules.

A manual digest is not a tick: it is not claimed, so the schedule's own runs are unaffected.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.config import DigestSchedule
from bot.errors import InvalidInput
from bot.models import Actor, Priority
from bot.schedules import job_id, next_runs
from bot.slack.blocks.digest import digest_blocks
from bot.slack.blocks.schedules import schedules_blocks
from bot.slack.context import SlackContext
from bot.slack.publisher import describe
from bot.state.ticks import TickRecord
from bot.timestamps import utcnow

DEFAULT_NAME = "default"
_NOT_THERE = ("channel_not_found", "not_in_channel")


def default_schedule(channel_id: str) -> DigestSchedule:
    """With no digests configured: OPEN and WAITING, URGENT and HIGH, 15 items."""
    return DigestSchedule(name=DEFAULT_NAME, channel=channel_id, every=timedelta(hours=1))


def pick(schedules: list[DigestSchedule], name: str | None, channel_id: str) -> DigestSchedule:
    """The named digest, else the first configured, else the default one."""
    if name is None:
        return schedules[0] if schedules else default_schedule(channel_id)
    found = next((s for s in schedules if s.name.casefold() == name.casefold()), None)
    if found is None:
        known = ", ".join(f"`{s.name}`" for s in schedules)
        listing = f"Digests: {known}." if known else "None are configured under `digests:`."
        raise InvalidInput(f"No digest named '{name}' in convbot.yml. {listing}")
    return found


async def post_digest_now(
    deps: SlackContext, channel_id: str, actor: Actor, name: str | None
) -> str:
    """Build the digest and post it in `channel_id`; the confirmation sentence for the typist."""
    await deps.service.authorize(actor, "digest", None)
    jobs = deps.digests
    schedule = pick(jobs.schedules, name, channel_id)
    digest = await jobs.build(schedule)
    fallback, blocks = digest_blocks(digest, await deps.card_context(None), now=jobs.clock())
    try:
        answer = await deps.client.chat_postMessage(
            channel=channel_id, text=fallback, blocks=blocks
        )
    except SlackApiError as error:
        code = error.response.get("error") if error.response is not None else None
        if code in _NOT_THERE:
            raise InvalidInput(
                "The bot is not in this channel, so it cannot post the digest here: invite it"
                " with `/invite @convbot`, then try again."
            ) from None
        raise InvalidInput(f"The digest was not posted: {describe(error)}.") from None
    await deps.digest_posts.posted(schedule.name, answer, fallback, blocks)
    noun = "conversation" if digest.total == 1 else "conversations"
    return f"Posted digest {schedule.name}: {digest.total} {noun}."


async def current_totals(
    deps: SlackContext, name: str, channel_id: str
) -> dict[Priority, int] | None:
    """The named digest's totals now, for redrawing its head after a press; None when the
    digest is no longer configured (its head is then left as it was)."""
    jobs = deps.digests
    found = next((s for s in jobs.schedules if s.name == name), None)
    if found is None and name == DEFAULT_NAME and not jobs.schedules:
        found = default_schedule(channel_id)
    if found is None:
        return None
    return (await jobs.build(found)).totals


async def schedules_reply(
    deps: SlackContext, now: datetime | None = None
) -> tuple[str, list[Block]]:
    """`(text, blocks)` listing every configured digest, its last and next run."""
    jobs = deps.digests
    moment = now or utcnow()
    last: dict[str, TickRecord | None] = {}
    upcoming: dict[str, datetime | None] = {}
    for schedule in jobs.schedules:
        last[schedule.name] = await jobs.ticks.last(job_id(schedule))
        runs = next_runs(schedule, moment, 1)
        upcoming[schedule.name] = runs[0] if runs else None
    return schedules_blocks(jobs.schedules, last, upcoming)
