"""`convbot digest <name> [--dry-run]`: build one configured digest now, print or post it."""

from __future__ import annotations

import sys

from bot.bootstrap import build_runtime
from bot.cli.terminal_text import plain
from bot.digests.model import Digest
from bot.errors import ConvbotError, InvalidInput
from bot.settings import Settings
from bot.slack.blocks.digest_item import age
from bot.timestamps import utcnow


async def run_digest(settings: Settings, name: str, dry_run: bool) -> int:
    if not dry_run and not settings.slack_bot_token:
        print("Posting a digest needs SLACK_BOT_TOKEN; use --dry-run to print it.", file=sys.stderr)
        return 2
    runtime = None
    try:
        runtime = await build_runtime(settings)
        jobs = runtime.jobs.digests
        schedule = next((s for s in jobs.schedules if s.name == name), None)
        if schedule is None:
            known = ", ".join(s.name for s in jobs.schedules) or "none are configured"
            raise InvalidInput(f"No digest named '{name}' in convbot.yml. Digests: {known}.")
        digest = await jobs.build(schedule)
        if dry_run:
            print(render(digest))
        else:
            await jobs.post(schedule, digest)
            print(f"Posted digest {name} to {schedule.channel}: {digest.total} conversations.")
        return 0
    except ConvbotError as error:
        print(plain(str(error)), file=sys.stderr)
        return error.exit_code
    finally:
        if runtime is not None:
            await runtime.aclose()


def render(digest: Digest) -> str:
    now = utcnow()
    counts = ", ".join(f"{n} {p.value}" for p, n in digest.totals.items() if n)
    lines = [f"Digest {digest.name}: {digest.total} open conversations ({counts or 'none'})"]
    for item in digest.items:
        c = item.conversation
        where = f"{c.queueId or 'no queue'}, {c.agentId or 'unassigned'}"
        lines.append(
            f"  {c.priority.value:<7} {c.topic or c.id}  (open {age(c.createdAt, now)}, {where})"
        )
    if digest.hidden:
        # The digest names the Slack command; in a shell the same words follow `convbot conv`.
        more = digest.more_command.removeprefix("/conv ")
        lines.append(f"  …and {digest.hidden} more: convbot conv {more}")
    return "\n".join(lines)
