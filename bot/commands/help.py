"""Help text: the overview of every subcommand by section, and one subcommand's page.

Drawn from registry entries (bot/commands/registry.py), so a new subcommand's help comes with
its entry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.commands.subcommand import SLACK_ONLY, Section, Subcommand

SLACK_ONLY_MARK = "(Slack only)"

# A `[key:…]` option group in a usage line, with at most one nested `[…]` inside.
_OPTION_GROUP = re.compile(r" ?\[[a-z]+:(?:[^\[\]]|\[[^\[\]]*\])*\]")


def short_usage(usage: str) -> str:
    """The usage line without its `key:value` options, which `help <command>` lists."""
    short = _OPTION_GROUP.sub("", usage)
    return short if short == usage else short + " [options]"


def sections(
    entries: Sequence[Subcommand[Any]],
) -> tuple[tuple[Section, tuple[Subcommand[Any], ...]], ...]:
    """The entries by section, in the sections' order and theirs; empty sections left out."""
    grouped = ((section, tuple(e for e in entries if e.section is section)) for section in Section)
    return tuple((section, members) for section, members in grouped if members)


def overview(entries: Sequence[Subcommand[Any]]) -> str:
    """The commands by section, one line each; the bold headings part the sections, so no blank
    line is spent between them (the overview must stay one short screen)."""
    lines: list[str] = []
    for section, members in sections(entries):
        # A section that works only in Slack says so once, in its heading.
        whole = all(entry.surfaces == SLACK_ONLY for entry in members)
        heading = section.value
        lines.append(f"*{heading}* {SLACK_ONLY_MARK}" if whole else f"*{heading}*")
        for entry in members:
            mark = f" {SLACK_ONLY_MARK}" if entry.surfaces == SLACK_ONLY and not whole else ""
            lines.append(f"  `{short_usage(entry.usage)}` — {entry.summary}{mark}")
    return "\n".join(lines)


def page(entry: Subcommand[Any]) -> str:
    """One command's usage, explanation and examples."""
    usage = f"`{entry.usage}`"
    if entry.surfaces == SLACK_ONLY:
        usage = f"{usage} {SLACK_ONLY_MARK}"
    shown = [f"  `{example}`" for example in entry.examples]
    return "\n".join([usage, entry.explanation, "Examples:", *shown])
