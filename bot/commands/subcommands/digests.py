"""`digest` and `schedules`. Slack only: posting a digest here and now needs a channel
(bot/slack/listeners/commands.py); in a shell, `convbot digest` (bot/cli/digest.py)."""

from __future__ import annotations

from datetime import datetime

from bot.commands.spec import DigestCommand, SchedulesCommand
from bot.commands.subcommand import SLACK_ONLY, Section, Subcommand
from bot.commands.values import printable
from bot.errors import InvalidInput
from bot.identifiers import CONFIG_NAME


def _digest_grammar(words: list[str], now: datetime) -> DigestCommand:
    if len(words) > 1:
        raise InvalidInput(f"Unexpected '{printable(words[1])}': `digest` takes one digest name.")
    if not words:
        return DigestCommand()
    if not CONFIG_NAME.fullmatch(words[0]):
        raise InvalidInput(
            f"'{printable(words[0])}' is not a digest name: names are 1-64 letters, digits, '-'"
            " or '_', as under `digests:` in convbot.yml."
        )
    return DigestCommand(name=words[0])


def _schedules_grammar(words: list[str], now: datetime) -> SchedulesCommand:
    if words:
        raise InvalidInput(f"Unexpected '{printable(words[0])}': `schedules` takes nothing more.")
    return SchedulesCommand()


DIGEST = Subcommand(
    name="digest",
    model=DigestCommand,
    grammar=_digest_grammar,
    usage="digest [name]",
    summary="Post a digest of urgent open work here, now.",
    explanation="Posts a digest of open high-priority conversations in this channel now: the"
    " one named under `digests:` in convbot.yml, else the first configured one (or URGENT and"
    " HIGH, open and waiting, when none is configured). In a shell, `convbot digest <name>`"
    " posts a configured digest to its channel and `--dry-run` prints it instead.",
    examples=("digest", "digest support-high"),
    section=Section.DIGESTS,
    surfaces=SLACK_ONLY,
    run=None,
    in_a_shell=" In a shell, `convbot digest <name>` posts a configured digest now"
    " (`--dry-run` prints it).",
)

SCHEDULES = Subcommand(
    name="schedules",
    model=SchedulesCommand,
    grammar=_schedules_grammar,
    usage="schedules",
    summary="Each configured digest: when it runs, how it last went.",
    explanation="Lists every configured digest: its channel, when it runs, its last and next"
    " run and its last error.",
    examples=("schedules",),
    section=Section.DIGESTS,
    surfaces=SLACK_ONLY,
    run=None,
    in_a_shell=" The digests and when they run are under `digests:` in convbot.yml.",
)
