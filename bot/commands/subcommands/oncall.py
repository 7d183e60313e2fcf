"""`escalate`, `oncall` and `escalations`: paging people. Slack only: their handlers post to
Slack and read its people (bot/slack/listeners/commands.py)."""

from __future__ import annotations

from datetime import datetime

from bot.commands.grammar import Option, read_options, take_id, unexpected
from bot.commands.spec import REASON_MAX, EscalateCommand, EscalationsCommand, OncallCommand
from bot.commands.subcommand import SLACK_ONLY, Section, Subcommand
from bot.commands.values import checked_text, oncall_name, policy_name, printable, wall_time
from bot.errors import InvalidInput

_ESCALATE_OPTIONS = {
    "policy": Option("policy", policy_name, "policy:sev1"),
}
_ONCALL_OPTIONS = {
    "at": Option("at", wall_time, 'at:"2026-12-25 03:00"'),
}


def _escalate_grammar(words: list[str], now: datetime) -> EscalateCommand:
    values, rest = read_options(words, _ESCALATE_OPTIONS, now)
    conversation, extra = take_id("escalate", rest)
    # The reason is free text: a `key:value` word in it is just a word.
    reason = checked_text("reason", " ".join(extra), REASON_MAX) if extra else None
    return EscalateCommand.model_validate({**values, "id": conversation, "reason": reason})


def _oncall_grammar(words: list[str], now: datetime) -> OncallCommand:
    values, rest = read_options(words, _ONCALL_OPTIONS, now)
    for word in rest:
        if ":" in word:
            raise unexpected("oncall", word, _ONCALL_OPTIONS)
    if len(rest) > 1:
        raise InvalidInput(
            f"Unexpected '{printable(rest[1])}': `oncall` takes one schedule name and `at:`,"
            " e.g. `oncall primary at:now`."
        )
    schedule = oncall_name("schedule", "schedules", rest[0]) if rest else None
    return OncallCommand.model_validate({**values, "schedule": schedule})


def _escalations_grammar(words: list[str], now: datetime) -> EscalationsCommand:
    if words:
        raise InvalidInput(f"Unexpected '{printable(words[0])}': `escalations` takes nothing more.")
    return EscalationsCommand()


ESCALATE = Subcommand(
    name="escalate",
    model=EscalateCommand,
    grammar=_escalate_grammar,
    usage="escalate <id> [policy:NAME] [reason …]",
    summary="Page whoever is on call until someone acknowledges.",
    explanation="Escalates a conversation: raises it to URGENT, tags it `escalated` and pages"
    " whoever is on call, step by step, until someone acknowledges. `policy:` picks one under"
    " `oncall.policies:` in convbot.yml (else the default one); the other words are the"
    f" reason, up to {REASON_MAX} characters.",
    examples=("escalate 8f3a2c1d", 'escalate 8f3a2c1d policy:sev1 "Checkout down for everyone"'),
    section=Section.ONCALL,
    surfaces=SLACK_ONLY,
    run=None,
)

ONCALL = Subcommand(
    name="oncall",
    model=OncallCommand,
    grammar=_oncall_grammar,
    usage='oncall [schedule] [at:"2026-12-25 03:00"]',
    summary="Who is on call, now or at a given time.",
    explanation="Shows who is on call for a schedule under `oncall.schedules:` in convbot.yml,"
    " or for every schedule: now, or at the time `at:` gives, a date and time in your time zone"
    " (YYYY-MM-DD HH:MM, in quotes because of the space, or `now`).",
    examples=("oncall", 'oncall primary at:"2026-12-25 03:00"'),
    section=Section.ONCALL,
    surfaces=SLACK_ONLY,
    run=None,
    in_a_shell=" The rota is under `oncall.schedules:` in convbot.yml.",
)

ESCALATIONS = Subcommand(
    name="escalations",
    model=EscalationsCommand,
    grammar=_escalations_grammar,
    usage="escalations",
    summary="The pages nobody has acknowledged yet.",
    explanation="Lists the escalations still running, that nobody has acknowledged yet.",
    examples=("escalations",),
    section=Section.ONCALL,
    surfaces=SLACK_ONLY,
    run=None,
)
